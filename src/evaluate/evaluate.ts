// The packet evaluator: interprets the compiled kernel-level Ruleset (the Expr lists that are loaded,
// not the YAML, not the IR) for one packet and says which verdict the kernel reaches and which rule
// (or chain policy) decides it. Pure; per-ruleset preparation is cached, so a decision allocates
// little more than its result.
import type { Hook, PortSpan, Verdict } from "../compile/ir.js";
import type { Expr, KernelRule, Ruleset, VerdictMap } from "../compile/ruleset.js";
import type { Family } from "../net/address.js";
import type { Origin } from "../compile/ir.js";
import { contains } from "../net/interval.js";
import { hasPorts, isIcmp, transportBytes23, transportBytes23Name, type Packet } from "./packet.js";

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

/** What a matching rule does after its matches. */
type Action =
  | { readonly kind: "verdict"; readonly verdict: Verdict; readonly rateLimit: RateLimit | null }
  | { readonly kind: "jump"; readonly chain: PreparedChain }
  | { readonly kind: "vmap"; readonly map: PreparedMap; readonly key: "dport" | Family }
  | { readonly kind: "return" };

interface PreparedRule {
  /** The rule's matches and non-terminal statements; named-set lookups are resolved to their elements. */
  readonly exprs: readonly Expr[];
  readonly action: Action;
  readonly chain: string;
  readonly index: number;
  readonly rule: KernelRule;
  /** Verdict rules: the decider per path of chains that reached the rule, made on first use. */
  readonly deciders: { readonly via: readonly PreparedChain[]; readonly decider: RuleDecider; readonly solo: Decision }[];
}

interface PreparedChain {
  readonly name: string;
  /** Rules that end with a verdict, jump, map lookup or return; other rules (counters, logs) change nothing. */
  rules: readonly PreparedRule[];
}

interface PreparedBaseChain extends PreparedChain {
  readonly hook: Hook;
  readonly policy: PolicyDecider;
  readonly policySolo: Decision;
}

/** A verdict map as sorted parallel arrays for binary search. */
interface PreparedMap {
  readonly lo: readonly bigint[];
  readonly hi: readonly bigint[];
  readonly target: readonly PreparedChain[];
}

interface Prepared {
  /** Base chains in the order a packet meets them: hook order, then priority. */
  readonly chains: readonly PreparedBaseChain[];
  /** Where port tests (sets and port maps) start or end: the values of transport bytes 2..3 at which a decision can change. */
  readonly cuts: readonly number[];
}

/** Hooks in the order a locally delivered packet traverses them. */
const HOOK_ORDER: Record<Hook, number> = { prerouting: 0, input: 1 };
const PORT_MAX = 65535;
/** The kernel's jump stack (NFT_JUMP_STACK_SIZE); nft refuses deeper rulesets at load. */
const MAX_JUMP_DEPTH = 16;
const EMPTY: readonly Decider[] = [];
const UNFILTERED: UnfilteredDecider = { kind: "unfiltered", verdict: "accept" };
const UNFILTERED_DECISION: Decision = { verdict: "accept", by: UNFILTERED, chains: EMPTY };

const cache = new WeakMap<Ruleset, Prepared>();

function prepare(rs: Ruleset): Prepared {
  const cuts = new Set<number>([0]);
  const addPortCuts = (lo: bigint, hi: bigint) => {
    cuts.add(Number(lo));
    if (hi < PORT_MAX) cuts.add(Number(hi) + 1);
  };
  const ordered = rs.chains
    .map((chain, i) => ({ chain, i }))
    .sort((a, b) => HOOK_ORDER[a.chain.base.hook] - HOOK_ORDER[b.chain.base.hook] || a.chain.base.priority - b.chain.base.priority || a.i - b.i);
  const byName = new Map<string, PreparedChain>();
  const bases = ordered.map(({ chain }): PreparedBaseChain => {
    const hook = chain.base.hook;
    const policy: PolicyDecider = { kind: "policy", chain: chain.name, hook, verdict: chain.base.policy };
    const c: PreparedBaseChain = { name: chain.name, rules: [], hook, policy, policySolo: { verdict: policy.verdict, by: policy, chains: [policy] } };
    byName.set(chain.name, c);
    return c;
  });
  for (const chain of rs.regularChains ?? []) byName.set(chain.name, { name: chain.name, rules: [] });
  const chainNamed = (name: string) => {
    const c = byName.get(name);
    if (!c) throw new Error(`evaluator: jump to unknown chain ${name}`);
    return c;
  };
  const sets = new Map((rs.sets ?? []).map((s) => [s.name, s]));
  const maps = new Map<string, PreparedMap>();
  const prepareMap = (m: VerdictMap): PreparedMap => {
    if (m.type === "inet_service") for (const e of m.elements) addPortCuts(e.lo, e.hi);
    return { lo: m.elements.map((e) => e.lo), hi: m.elements.map((e) => e.hi), target: m.elements.map((e) => chainNamed(e.jump)) };
  };
  for (const m of rs.maps ?? []) maps.set(m.name, prepareMap(m));

  const prepareRule = (chain: string, rule: KernelRule, index: number): PreparedRule | null => {
    const exprs: Expr[] = [];
    let rateLimit: RateLimit | null = null;
    let action: Action | null = null;
    for (const e of rule.exprs) {
      if (e.type === "limit") rateLimit ??= { rate: e.rate, burst: e.burst };
      if (e.type === "dport") for (const iv of e.set) addPortCuts(iv.lo, iv.hi);
      if (e.type === "verdict") action = { kind: "verdict", verdict: e.verdict, rateLimit };
      else if (e.type === "jump") action = { kind: "jump", chain: chainNamed(e.chain) };
      else if (e.type === "return") action = { kind: "return" };
      else if (e.type === "vmap") {
        const map = maps.get(e.map);
        if (!map) throw new Error(`evaluator: lookup in unknown map ${e.map}`);
        action = { kind: "vmap", map, key: e.key.field === "dport" ? "dport" : e.key.family };
      } else if (e.type === "setLookup") {
        const set = sets.get(e.set);
        if (!set) throw new Error(`evaluator: lookup in unknown set ${e.set}`);
        // A named set matches exactly as the same elements in an anonymous set.
        exprs.push({ type: "addr", field: e.field, family: e.family, op: "==", set: set.elements });
      } else exprs.push(e);
      if (action) break;
    }
    if (action === null) return null;
    if (rateLimit !== null && action.kind !== "verdict") throw new Error(`evaluator: a rate limit before a ${action.kind} is not supported`);
    return { exprs, action, chain, index, rule, deciders: [] };
  };
  const prepareRules = (c: PreparedChain, rules: readonly KernelRule[]) => {
    c.rules = rules.flatMap((r, i) => prepareRule(c.name, r, i) ?? []);
  };
  ordered.forEach(({ chain }, i) => prepareRules(bases[i]!, chain.rules));
  for (const chain of rs.regularChains ?? []) prepareRules(byName.get(chain.name)!, chain.rules);
  return { chains: bases, cuts: [...cuts].sort((a, b) => a - b) };
}

function prepared(rs: Ruleset): Prepared {
  let p = cache.get(rs);
  if (!p) {
    p = prepare(rs);
    cache.set(rs, p);
  }
  return p;
}

/** The verdict rule's decider when reached through `stack` (base chain first, the rule's own chain last). */
function deciderOf(r: PreparedRule, stack: readonly PreparedChain[], hook: Hook): { decider: RuleDecider; solo: Decision } {
  const depth = stack.length - 1;
  for (const d of r.deciders) {
    if (d.via.length === depth && d.via.every((c, i) => c === stack[i])) return d;
  }
  const action = r.action as Extract<Action, { kind: "verdict" }>;
  const via = stack.slice(0, depth);
  const decider: RuleDecider = {
    kind: "rule",
    chain: r.chain,
    via: via.map((c) => c.name),
    hook,
    index: r.index,
    rule: r.rule,
    origin: r.rule.origin,
    verdict: action.verdict,
    rateLimit: action.rateLimit,
    aboveRate: null,
  };
  const entry = { via, decider, solo: { verdict: action.verdict, by: decider, chains: [decider] } };
  r.deciders.push(entry);
  return entry;
}

/** The chain a verdict map sends `key` to, or undefined when no element holds it. */
function mapTarget(m: PreparedMap, key: bigint): PreparedChain | undefined {
  let lo = 0;
  let hi = m.lo.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (key < m.lo[mid]!) hi = mid - 1;
    else if (key > m.hi[mid]!) lo = mid + 1;
    else return m.target[mid];
  }
  return undefined;
}

const NO_MATCH = 0;
const MATCH = 1;
/** A reached port test needs transport bytes 2..3 and the packet does not carry them. */
const NEEDS_TH23 = 2;
type MatchResult = typeof NO_MATCH | typeof MATCH | typeof NEEDS_TH23;

function unhandled(e: never): never {
  throw new Error(`evaluator: unhandled expression ${JSON.stringify(e)}`);
}

/** One rule's expressions in order, as the kernel runs them; a failing expression ends the rule. */
function matchRule(exprs: readonly Expr[], pkt: Packet, daddr: bigint, th23: bigint | undefined): MatchResult {
  for (const e of exprs) {
    switch (e.type) {
      case "iifname":
        if (e.names.includes(pkt.iif) !== (e.op === "==")) return NO_MATCH;
        break;
      case "ctState":
        if (!e.states.includes(pkt.ctState)) return NO_MATCH;
        break;
      case "l4proto":
        // `meta l4proto 0` therefore never matches a real TCP/UDP/ICMP packet.
        if (e.protocol !== pkt.protocol) return NO_MATCH;
        break;
      case "nfproto":
        if (e.family !== pkt.family) return NO_MATCH;
        break;
      case "addr": {
        // nft guards a network-header load with its family (`meta nfproto`), so another family never matches.
        if (e.family !== pkt.family) return NO_MATCH;
        const inSet = contains(e.set, e.field === "saddr" ? pkt.src : daddr);
        if (inSet !== (e.op === "==")) return NO_MATCH;
        break;
      }
      case "dport":
        // `th dport` loads transport bytes 2..3 whatever the protocol: the ICMP checksum for ICMP.
        if (th23 === undefined) return NEEDS_TH23;
        if (!contains(e.set, th23)) return NO_MATCH;
        break;
      case "icmpType":
        // Transport byte 0; for a TCP/UDP packet that would be half of the source port, which no packet here carries.
        if (!isIcmp(pkt.protocol) || pkt.icmpType === undefined) {
          throw new Error(`evaluator: an ICMP type test needs an ICMP packet with its type (protocol ${pkt.protocol})`);
        }
        if (!e.types.includes(pkt.icmpType)) return NO_MATCH;
        break;
      case "limit": // matches while under the rate; the decider records the limit
      case "counter":
      case "limitRef": // limitRef and log: only in log rules, which have no verdict (never prepared); logging decides nothing
      case "log":
        break;
      case "verdict":
        return MATCH;
      // Resolved or split off when the rule is prepared.
      case "setLookup":
      case "vmap":
      case "jump":
      case "return":
        throw new Error(`evaluator: unprepared ${e.type} expression`);
      default:
        return unhandled(e);
    }
  }
  return MATCH;
}

function laterChainOnPath(p: Prepared, ci: number, pkt: Packet): boolean {
  for (let j = ci + 1; j < p.chains.length; j++) if (!(pkt.forwarded && p.chains[j]!.hook === "input")) return true;
  return false;
}

/** Where a walk resumes inside a base chain: the jump stack (base chain first) and each chain's next rule. */
interface Resume {
  readonly stack: readonly PreparedChain[];
  readonly next: readonly number[];
}

/**
 * Run the base chains from `startChain` (resuming inside it at `resume` when given); `before` holds the
 * outcomes of the chains met earlier. A jump runs a regular chain; falling off its end or `return` goes
 * back to the rule after the jump; a verdict anywhere ends the base chain.
 * null: a reached rule needs transport bytes 2..3 that the packet does not carry.
 */
function walk(
  p: Prepared,
  pkt: Packet,
  th23In: bigint | undefined,
  th23Pre: bigint | undefined,
  startChain: number,
  resume: Resume | null,
  before: readonly Decider[],
): Decision | null {
  let met: Decider[] | null = before.length > 0 ? [...before] : null;
  for (let ci = startChain; ci < p.chains.length; ci++) {
    const base = p.chains[ci]!;
    if (pkt.forwarded && base.hook === "input") continue;
    // prerouting runs before NAT (priority -110 < -100): it sees the original destination.
    const pre = base.hook === "prerouting";
    const daddr = pre && pkt.origDst !== undefined ? pkt.origDst : pkt.dst;
    const th23 = pre ? th23Pre : th23In;
    let outcome: Decider = base.policy;
    let solo: Decision | null = base.policySolo;
    const resuming = resume !== null && ci === startChain;
    const stack: PreparedChain[] = resuming ? [...resume.stack] : [base];
    const next: number[] = resuming ? [...resume.next] : [0];
    while (stack.length > 0) {
      const top = stack.length - 1;
      const ch = stack[top]!;
      const ri = next[top]!;
      if (ri >= ch.rules.length) {
        stack.pop();
        next.pop();
        continue;
      }
      next[top] = ri + 1;
      const r = ch.rules[ri]!;
      const m = matchRule(r.exprs, pkt, daddr, th23);
      if (m === NO_MATCH) continue;
      if (m === NEEDS_TH23) return null;
      const a = r.action;
      if (a.kind === "return") {
        stack.pop();
        next.pop();
        continue;
      }
      if (a.kind === "jump" || a.kind === "vmap") {
        let target: PreparedChain | undefined;
        if (a.kind === "jump") target = a.chain;
        else if (a.key === "dport") {
          if (th23 === undefined) return null;
          target = mapTarget(a.map, th23);
        } else if (a.key === pkt.family) target = mapTarget(a.map, pkt.src); // `ip saddr` implies the family
        if (target === undefined) continue; // no element: the rule does not match
        if (stack.length >= MAX_JUMP_DEPTH) throw new Error(`evaluator: jumps nest deeper than ${MAX_JUMP_DEPTH} chains`);
        stack.push(target);
        next.push(0);
        continue;
      }
      const d = deciderOf(r, stack, base.hook);
      if (a.rateLimit === null) {
        outcome = d.decider;
        solo = d.solo;
      } else {
        // Above the rate the limit does not match and the chain goes on with the next rule.
        const above = walk(p, pkt, th23In, th23Pre, ci, { stack, next }, met ?? EMPTY);
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
  const origTh23 = pkt.origDport !== undefined && hasPorts(pkt.protocol) ? BigInt(pkt.origDport) : undefined;
  const cases: { values: PortSpan[]; decision: Decision }[] = [];
  p.cuts.forEach((lo, i) => {
    const hi = i + 1 < p.cuts.length ? p.cuts[i + 1]! - 1 : PORT_MAX;
    const th23 = BigInt(lo);
    const decision = walk(p, pkt, th23, origTh23 ?? th23, 0, null, EMPTY);
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
  const t = transportBytes23(pkt);
  const th23 = t === undefined ? undefined : BigInt(t);
  const th23Pre = pkt.origDport !== undefined && hasPorts(pkt.protocol) ? BigInt(pkt.origDport) : th23;
  return walk(p, pkt, th23, th23Pre, 0, null, EMPTY) ?? byTransportBytes(p, pkt);
}
