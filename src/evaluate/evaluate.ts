// The packet evaluator: interprets the compiled kernel-level Ruleset (the Expr lists that are loaded,
// not the YAML, not the IR) for one packet and says which verdict the kernel reaches and which rule
// (or chain policy) decides it. Pure; per-ruleset preparation is cached, so a decision allocates
// little more than its result.
import type { Hook, PortSpan, Verdict } from "../compile/ir.js";
import type { Expr, KernelRule, Ruleset } from "../compile/ruleset.js";
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

interface PreparedRule {
  readonly exprs: readonly Expr[];
  readonly decider: RuleDecider;
  /** The decision when this rule settles a path of one chain (shared, so the common case allocates nothing). */
  readonly solo: Decision;
}

interface PreparedChain {
  readonly hook: Hook;
  /** Rules that end with a verdict; a rule without one never decides anything. */
  readonly rules: readonly PreparedRule[];
  readonly policy: PolicyDecider;
  readonly policySolo: Decision;
}

interface Prepared {
  /** Base chains in the order a packet meets them: hook order, then priority. */
  readonly chains: readonly PreparedChain[];
  /** Where port-test sets start or end: the values of transport bytes 2..3 at which a decision can change. */
  readonly cuts: readonly number[];
}

/** Hooks in the order a locally delivered packet traverses them. */
const HOOK_ORDER: Record<Hook, number> = { prerouting: 0, input: 1 };
const PORT_MAX = 65535;
const EMPTY: readonly Decider[] = [];
const UNFILTERED: UnfilteredDecider = { kind: "unfiltered", verdict: "accept" };
const UNFILTERED_DECISION: Decision = { verdict: "accept", by: UNFILTERED, chains: EMPTY };

const cache = new WeakMap<Ruleset, Prepared>();

function prepare(rs: Ruleset): Prepared {
  const cuts = new Set<number>([0]);
  const ordered = rs.chains
    .map((chain, i) => ({ chain, i }))
    .sort((a, b) => HOOK_ORDER[a.chain.base.hook] - HOOK_ORDER[b.chain.base.hook] || a.chain.base.priority - b.chain.base.priority || a.i - b.i);
  const chains = ordered.map(({ chain }): PreparedChain => {
    const hook = chain.base.hook;
    const policy: PolicyDecider = { kind: "policy", chain: chain.name, hook, verdict: chain.base.policy };
    const rules: PreparedRule[] = [];
    chain.rules.forEach((rule, index) => {
      let verdict: Verdict | null = null;
      let rateLimit: RateLimit | null = null;
      for (const e of rule.exprs) {
        if (e.type === "limit") rateLimit ??= { rate: e.rate, burst: e.burst };
        if (e.type === "dport") {
          for (const iv of e.set) {
            cuts.add(Number(iv.lo));
            if (iv.hi < PORT_MAX) cuts.add(Number(iv.hi) + 1);
          }
        }
        if (e.type === "verdict") {
          verdict = e.verdict;
          break;
        }
      }
      if (verdict === null) return;
      const decider: RuleDecider = { kind: "rule", chain: chain.name, hook, index, rule, origin: rule.origin, verdict, rateLimit, aboveRate: null };
      rules.push({ exprs: rule.exprs, decider, solo: { verdict, by: decider, chains: [decider] } });
    });
    return { hook, rules, policy, policySolo: { verdict: policy.verdict, by: policy, chains: [policy] } };
  });
  return { chains, cuts: [...cuts].sort((a, b) => a - b) };
}

function prepared(rs: Ruleset): Prepared {
  let p = cache.get(rs);
  if (!p) {
    p = prepare(rs);
    cache.set(rs, p);
  }
  return p;
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
        break;
      case "verdict":
        return MATCH;
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

/**
 * Run the base chains from (startChain, startRule); `before` holds the outcomes of the chains met earlier.
 * null: a reached rule needs transport bytes 2..3 that the packet does not carry.
 */
function walk(
  p: Prepared,
  pkt: Packet,
  th23In: bigint | undefined,
  th23Pre: bigint | undefined,
  startChain: number,
  startRule: number,
  before: readonly Decider[],
): Decision | null {
  let met: Decider[] | null = before.length > 0 ? [...before] : null;
  for (let ci = startChain; ci < p.chains.length; ci++) {
    const ch = p.chains[ci]!;
    if (pkt.forwarded && ch.hook === "input") continue;
    // prerouting runs before NAT (priority -110 < -100): it sees the original destination.
    const pre = ch.hook === "prerouting";
    const daddr = pre && pkt.origDst !== undefined ? pkt.origDst : pkt.dst;
    const th23 = pre ? th23Pre : th23In;
    let outcome: Decider = ch.policy;
    let solo: Decision | null = ch.policySolo;
    for (let ri = ci === startChain ? startRule : 0; ri < ch.rules.length; ri++) {
      const r = ch.rules[ri]!;
      const m = matchRule(r.exprs, pkt, daddr, th23);
      if (m === NO_MATCH) continue;
      if (m === NEEDS_TH23) return null;
      if (r.decider.rateLimit === null) {
        outcome = r.decider;
        solo = r.solo;
      } else {
        // Above the rate the limit does not match and the chain goes on with the next rule.
        const above = walk(p, pkt, th23In, th23Pre, ci, ri + 1, met ?? EMPTY);
        if (above === null) return null;
        outcome = { ...r.decider, aboveRate: above };
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
  return a.chain === b.chain && a.index === b.index && a.aboveRate !== null && b.aboveRate !== null && sameDecision(a.aboveRate, b.aboveRate);
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
    const decision = walk(p, pkt, th23, origTh23 ?? th23, 0, 0, EMPTY);
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
  return walk(p, pkt, th23, th23Pre, 0, 0, EMPTY) ?? byTransportBytes(p, pkt);
}
