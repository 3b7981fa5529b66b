// The packet evaluator: interprets the compiled kernel-level Ruleset (the Expr lists that are loaded,
// not the YAML, not the IR) for one packet and says which verdict the kernel reaches and which rule
// (or chain policy) decides it. Pure: the preparation cached per ruleset (prepare.ts) and the scratch
// state a decision reuses are not observable, and a decision met before allocates next to nothing.
import type { Hook, PortSpan, Verdict } from "../compile/ir.js";
import type { KernelRule, Ruleset } from "../compile/ruleset.js";
import type { Origin } from "../compile/ir.js";
import { resetKey } from "./lookup.js";
import { hasPorts, transportBytes23, transportBytes23Name, type Packet } from "./packet.js";
import {
  addrTarget,
  classIndex,
  classRules,
  MAX_JUMP_DEPTH,
  portTarget,
  prepared,
  rulesFor,
  type Frames,
  type Prepared,
  type PreparedChain,
  type PreparedRule,
  type VerdictAction,
} from "./prepare.js";
import { MATCH, NEEDS_TH23, NO_MATCH, runTest, type MatchResult, type Subject, type Test } from "./match.js";

export interface RateLimit {
  readonly rate: number;
  /** null when the rule states no burst (the kernel then applies its default). */
  readonly burst: number | null;
}

export interface RuleDecider {
  readonly kind: "rule";
  readonly chain: string;
  /** The chains jumped through to reach `chain`, base chain first; empty for a rule of a base chain. */
  readonly via: readonly string[];
  readonly hook: Hook;
  /** 0-based position of the rule in its chain. */
  readonly index: number;
  readonly rule: KernelRule;
  readonly origin: Origin;
  readonly verdict: Verdict;
  /** The rule has a `limit`: its verdict holds only while the rate is not exceeded. */
  readonly rateLimit: RateLimit | null;
  /** With rateLimit: what the rest of the path decides for packets above the rate. */
  readonly aboveRate: Decision | null;
}

export interface PolicyDecider {
  readonly kind: "policy";
  readonly chain: string;
  readonly hook: Hook;
  readonly verdict: Verdict;
}

/** No base chain of the table is on the packet's path (e.g. accept mode without rules): nothing filters it. */
export interface UnfilteredDecider {
  readonly kind: "unfiltered";
  readonly verdict: "accept";
}

export type Decider = RuleDecider | PolicyDecider | UnfilteredDecider;

export interface Decision {
  readonly verdict: Verdict;
  /** What settled it: a drop anywhere on the path, or the accept of the last chain met. */
  readonly by: Decider;
  /** The outcome of every base chain met, in path order; an accept ends only its own chain. */
  readonly chains: readonly Decider[];
}

export interface DependsCase {
  /** Values of transport bytes 2..3 (destination port or ICMP checksum) with this decision. */
  readonly values: readonly PortSpan[];
  readonly decision: Decision;
}

/** The packet did not say what a reached rule compares, and the answer differs with it. */
export interface Undetermined {
  readonly verdict: "depends";
  readonly on: "dport" | "icmp-checksum" | "transport-bytes-2-3";
  readonly cases: readonly DependsCase[];
}

export type Evaluation = Decision | Undetermined;

const PORT_MAX = 65535;
const EMPTY: readonly Decider[] = [];
const UNFILTERED: UnfilteredDecider = { kind: "unfiltered", verdict: "accept" };
const UNFILTERED_DECISION: Decision = { verdict: "accept", by: UNFILTERED, chains: EMPTY };

/** Whether `via` is the path of the frames below the top one (base chain first). */
function samePath(via: readonly PreparedChain[], frames: Frames, depth: number): boolean {
  if (via.length !== depth - 1) return false;
  for (let i = 0; i < via.length; i++) if (via[i] !== frames.chain[i]) return false;
  return true;
}

/** The verdict rule's decider when reached through the `depth` frames (base chain first, the rule's own chain last). */
function deciderOf(r: PreparedRule, action: VerdictAction, frames: Frames, depth: number, hook: Hook): { decider: RuleDecider; solo: Decision } {
  for (const d of r.deciders) if (samePath(d.via, frames, depth)) return d;
  const { verdict, rateLimit } = action;
  const via = frames.chain.slice(0, depth - 1);
  const decider: RuleDecider = {
    kind: "rule",
    chain: r.chain,
    via: via.map((c) => c.name),
    hook,
    index: r.index,
    rule: r.rule,
    origin: r.rule.origin,
    verdict,
    rateLimit,
    aboveRate: null,
  };
  const entry = { via, decider, solo: { verdict, by: decider, chains: [decider] } };
  r.deciders.push(entry);
  return entry;
}

/** One rule's tests in order, as the kernel runs them; a failing test ends the rule. */
function matchRule(tests: readonly Test[], s: Subject): MatchResult {
  for (let i = 0; i < tests.length; i++) {
    const m = runTest(tests[i]!, s);
    if (m !== MATCH) return m;
  }
  return MATCH;
}

/** The subject filled in place with what the tests of a chain of this hook read from the packet. */
function see(s: Subject, pkt: Packet, daddr: bigint, th23: number | undefined): Subject {
  s.family = pkt.family;
  s.iif = pkt.iif;
  s.ctState = pkt.ctState;
  s.protocol = pkt.protocol;
  s.icmpType = pkt.icmpType;
  resetKey(s.src, pkt.src);
  resetKey(s.daddr, daddr);
  s.th23 = th23;
  return s;
}

function laterChainOnPath(p: Prepared, ci: number, pkt: Packet): boolean {
  for (let j = ci + 1; j < p.chains.length; j++) if (!(pkt.forwarded && p.chains[j]!.hook === "input")) return true;
  return false;
}

/**
 * Run the base chains from `startChain`; `before` holds the outcomes of the chains met earlier. With
 * `resumeDepth` > 0 the walk resumes inside `startChain` where p.frames stand (the jump stack up to that
 * depth, and each chain's next rule). A jump runs a regular chain; falling off its end or `return` goes
 * back to the rule after the jump; a verdict anywhere ends the base chain.
 * null: a reached rule needs transport bytes 2..3 that the packet does not carry.
 */
function walk(
  p: Prepared,
  pkt: Packet,
  th23In: number | undefined,
  th23Pre: number | undefined,
  startChain: number,
  resumeDepth: number,
  before: readonly Decider[],
): Decision | null {
  const frames = p.frames;
  let met: Decider[] | null = before.length > 0 ? [...before] : null;
  for (let ci = startChain; ci < p.chains.length; ci++) {
    const base = p.chains[ci]!;
    if (pkt.forwarded && base.hook === "input") continue;
    // prerouting runs before NAT (priority -110 < -100): it sees the original destination.
    const pre = base.hook === "prerouting";
    const s = see(p.subject, pkt, pre && pkt.origDst !== undefined ? pkt.origDst : pkt.dst, pre ? th23Pre : th23In);
    const view = classRules(p, classIndex(s));
    let outcome: Decider = base.policy;
    let solo: Decision | null = base.policySolo;
    // The chain running and its next rule are kept in locals; the frames below hold where each caller resumes.
    let depth = ci === startChain ? resumeDepth : 0;
    if (depth === 0) {
      frames.chain[0] = base;
      frames.next[0] = 0;
      depth = 1;
    }
    let rules = rulesFor(view, frames.chain[depth - 1]!, s);
    let ri = frames.next[depth - 1]!;
    for (;;) {
      if (ri >= rules.length) {
        // Off the chain's end: back after the jump that entered it; off the base chain's end, the policy.
        if (--depth === 0) break;
        rules = rulesFor(view, frames.chain[depth - 1]!, s);
        ri = frames.next[depth - 1]!;
        continue;
      }
      const r = rules[ri++]!;
      const m = matchRule(r.tests, s);
      if (m === NO_MATCH) continue;
      if (m === NEEDS_TH23) return null;
      const a = r.action;
      if (a.kind === "return") {
        ri = rules.length;
        continue;
      }
      if (a.kind !== "verdict") {
        let target: PreparedChain | undefined;
        if (a.kind === "jump") target = a.chain;
        else if (a.kind === "portMap") {
          if (s.th23 === undefined) return null;
          target = portTarget(a.map, s.th23);
        } else if (a.family === s.family) target = addrTarget(a.map, s.src); // `ip saddr` implies the family
        if (target === undefined) continue; // no element: the rule does not match
        if (depth >= MAX_JUMP_DEPTH) throw new Error(`evaluator: jumps nest deeper than ${MAX_JUMP_DEPTH} chains`);
        frames.next[depth - 1] = ri;
        frames.chain[depth] = target;
        depth++;
        rules = rulesFor(view, target, s);
        ri = 0;
        continue;
      }
      frames.next[depth - 1] = ri;
      const d = deciderOf(r, a, frames, depth, base.hook);
      if (a.rateLimit === null) {
        outcome = d.decider;
        solo = d.solo;
      } else {
        // Above the rate the limit does not match and the chain goes on with the next rule: the frames
        // stand just after this one, and this walk reads them no more.
        const above = walk(p, pkt, th23In, th23Pre, ci, depth, met ?? EMPTY);
        if (above === null) return null;
        outcome = { ...d.decider, aboveRate: above };
        solo = null;
      }
      break;
    }
    if (outcome.verdict === "drop" || !laterChainOnPath(p, ci, pkt)) {
      if (met === null) return solo ?? { verdict: outcome.verdict, by: outcome, chains: [outcome] };
      met.push(outcome);
      return { verdict: outcome.verdict, by: outcome, chains: met };
    }
    (met ??= []).push(outcome);
  }
  return UNFILTERED_DECISION;
}

function sameDecider(a: Decider, b: Decider): boolean {
  if (a === b) return true;
  if (a.kind !== "rule" || b.kind !== "rule") return false;
  const sameVia = a.via.length === b.via.length && a.via.every((c, i) => c === b.via[i]);
  return a.chain === b.chain && a.index === b.index && sameVia && a.aboveRate !== null && b.aboveRate !== null && sameDecision(a.aboveRate, b.aboveRate);
}

export function sameDecision(a: Decision, b: Decision): boolean {
  return a === b || (a.verdict === b.verdict && a.chains.length === b.chains.length && a.chains.every((d, i) => sameDecider(d, b.chains[i]!)));
}

/** Evaluate once per segment of transport-bytes-2..3 values between set boundaries; group equal decisions. */
function byTransportBytes(p: Prepared, pkt: Packet): Evaluation {
  const origTh23 = pkt.origDport !== undefined && hasPorts(pkt.protocol) ? pkt.origDport : undefined;
  const cases: { values: PortSpan[]; decision: Decision }[] = [];
  p.cuts.forEach((lo, i) => {
    const hi = i + 1 < p.cuts.length ? p.cuts[i + 1]! - 1 : PORT_MAX;
    const decision = walk(p, pkt, lo, origTh23 ?? lo, 0, 0, EMPTY);
    if (decision === null) throw new Error("evaluator: transport bytes 2..3 still unknown");
    const same = cases.find((c) => sameDecision(c.decision, decision));
    if (!same) {
      cases.push({ values: [{ lo, hi }], decision });
      return;
    }
    const last = same.values[same.values.length - 1]!;
    if (last.hi + 1 === lo) same.values[same.values.length - 1] = { lo: last.lo, hi };
    else same.values.push({ lo, hi });
  });
  if (cases.length === 1) return cases[0]!.decision;
  return { verdict: "depends", on: transportBytes23Name(pkt.protocol), cases };
}

/**
 * The verdict the kernel reaches for this packet on the input path: prerouting base chains first (a drop
 * there is final, an accept only ends that chain), then input base chains, each in priority order.
 * A forwarded packet meets only prerouting.
 */
export function evaluate(rs: Ruleset, pkt: Packet): Evaluation {
  const p = prepared(rs);
  const th23 = transportBytes23(pkt);
  const th23Pre = pkt.origDport !== undefined && hasPorts(pkt.protocol) ? pkt.origDport : th23;
  return walk(p, pkt, th23, th23Pre, 0, 0, EMPTY) ?? byTransportBytes(p, pkt);
}
