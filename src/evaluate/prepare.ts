// The evaluator's prepared form of a Ruleset, made once per ruleset object: base chains in the order a
// packet meets them, every rule's matches compiled to tests, named sets and verdict maps resolved to
// sorted arrays for bisection, and the values of transport bytes 2..3 at which a decision can change.
// Chains are further specialised per packet class (family, protocol, conntrack state) on first use:
// the tests the class settles are dropped, and so are the rules it can never match (most of a
// preamble, every rule of the other family or another protocol).
import type { CtState, Hook, Verdict } from "../compile/ir.js";
import type { KernelRule, Ruleset, VerdictMap } from "../compile/ruleset.js";
import type { Family } from "../net/address.js";
import type { Decision, PolicyDecider, RateLimit, RuleDecider } from "./evaluate.js";
import { addrIndex, bigIntervals, newKey, numberIndex, numberIntervals, type AddrKey, type BigIntervals, type NumberIntervals } from "./lookup.js";
import { addrTest, compileTest, FAILS, isPlain, outcomeForClass, PASSES, type Subject, type Test } from "./match.js";

export interface VerdictAction {
  readonly kind: "verdict";
  readonly verdict: Verdict;
  readonly rateLimit: RateLimit | null;
}

/** What a matching rule does after its matches. */
export type Action =
  | VerdictAction
  | { readonly kind: "jump"; readonly chain: PreparedChain }
  /** `th dport vmap`: keyed by transport bytes 2..3. */
  | { readonly kind: "portMap"; readonly map: PortMap }
  /** `ip saddr vmap`: keyed by the source address of `family` (the key implies the family). */
  | { readonly kind: "addrMap"; readonly map: AddrMap; readonly family: Family }
  | { readonly kind: "return" };

export interface PreparedRule {
  /**
   * The rule's matches in order (counters, logs and limits test nothing; a limit's rate is in the action);
   * in a class's copy of the rule, those the class leaves open.
   */
  readonly tests: readonly Test[];
  readonly action: Action;
  readonly chain: string;
  readonly index: number;
  readonly rule: KernelRule;
  /** Verdict rules: the decider per path of chains that reached the rule, made on first use; shared by its class copies. */
  readonly deciders: { readonly via: readonly PreparedChain[]; readonly decider: RuleDecider; readonly solo: Decision }[];
}

export interface PreparedChain {
  readonly name: string;
  /** Position among the ruleset's chains, for the per-class copies of its rules. */
  readonly id: number;
  /** Rules that end with a verdict, jump, map lookup or return; other rules (counters, logs) change nothing. */
  rules: readonly PreparedRule[];
}

export interface PreparedBaseChain extends PreparedChain {
  readonly hook: Hook;
  readonly policy: PolicyDecider;
  readonly policySolo: Decision;
}

/** A verdict map's elements and the chain each jumps to, for bisection. */
export interface PortMap {
  readonly keys: NumberIntervals;
  readonly target: readonly PreparedChain[];
}

export interface AddrMap {
  readonly keys: BigIntervals;
  readonly target: readonly PreparedChain[];
}

/** The kernel's jump stack (NFT_JUMP_STACK_SIZE); nft refuses deeper rulesets at load. */
export const MAX_JUMP_DEPTH = 16;

/**
 * The walk's jump stack, reused by every decision on the ruleset (decisions are synchronous): the chains
 * entered, base chain first, and the index of each one's next rule.
 */
export interface Frames {
  readonly chain: PreparedChain[];
  readonly next: Int32Array;
}

/** Per chain id, the chain's rules as one packet class sees them; made on first use. */
export type ClassRules = (readonly PreparedRule[] | undefined)[];

export interface Prepared {
  /** Base chains in the order a packet meets them: hook order, then priority. */
  readonly chains: readonly PreparedBaseChain[];
  readonly chainCount: number;
  /** Where port tests (sets and port maps) start or end: the values of transport bytes 2..3 at which a decision can change. */
  readonly cuts: readonly number[];
  /** Indexed by classIndex. */
  readonly classes: (ClassRules | undefined)[];
  readonly frames: Frames;
  readonly subject: Subject;
}

/** Hooks in the order a locally delivered packet traverses them. */
const HOOK_ORDER: Record<Hook, number> = { prerouting: 0, input: 1 };
const PORT_MAX = 65535;
const PROTOCOL_MAX = 255;

const cache = new WeakMap<Ruleset, Prepared>();

export function prepared(rs: Ruleset): Prepared {
  let p = cache.get(rs);
  if (!p) {
    p = prepare(rs);
    cache.set(rs, p);
  }
  return p;
}

const CT_STATES: readonly CtState[] = ["new", "established", "related", "invalid"];

/**
 * The class of packets of the subject's family, protocol and conntrack state, or -1 for values no real
 * packet carries (not specialised).
 */
export function classIndex(s: Subject): number {
  const { family, protocol } = s;
  const ct = CT_STATES.indexOf(s.ctState);
  if ((family !== 4 && family !== 6) || !Number.isInteger(protocol) || protocol < 0 || protocol > PROTOCOL_MAX || ct < 0) return -1;
  return ((family === 4 ? 0 : PROTOCOL_MAX + 1) + protocol) * CT_STATES.length + ct;
}

/** The copies of the chains' rules for a class; null for no class (the rules as they are). */
export function classRules(p: Prepared, cls: number): ClassRules | null {
  if (cls < 0) return null;
  return (p.classes[cls] ??= new Array<readonly PreparedRule[] | undefined>(p.chainCount));
}

/** A chain's rules as packets of the subject's class see them. */
export function rulesFor(view: ClassRules | null, c: PreparedChain, s: Subject): readonly PreparedRule[] {
  if (view === null) return c.rules;
  return (view[c.id] ??= c.rules.flatMap((r) => ruleForClass(r, s) ?? []));
}

/** The rule without the tests the class passes; null when the class fails it before anything else could happen. */
function ruleForClass(r: PreparedRule, s: Subject): PreparedRule | null {
  const tests: Test[] = [];
  let plain = true;
  for (const t of r.tests) {
    const outcome = outcomeForClass(t, s);
    if (outcome === PASSES) continue;
    tests.push(t);
    if (outcome === FAILS) {
      if (plain) return null;
      break; // an earlier test may still need the port or throw; none after this one runs
    }
    plain &&= isPlain(t);
  }
  return tests.length === r.tests.length ? r : { ...r, tests };
}

/** The chain a verdict map sends `key` to, or undefined when no element holds it. */
export function portTarget(m: PortMap, key: number): PreparedChain | undefined {
  const i = numberIndex(m.keys, key);
  return i < 0 ? undefined : m.target[i];
}

export function addrTarget(m: AddrMap, key: AddrKey): PreparedChain | undefined {
  const i = addrIndex(m.keys, key);
  return i < 0 ? undefined : m.target[i];
}

/** A verdict map with its targets resolved; the arrays a lookup needs are made for the key type used, once. */
interface MapLookups {
  readonly byPort: () => PortMap;
  readonly byAddr: () => AddrMap;
}

function mapLookups(m: VerdictMap, target: readonly PreparedChain[]): MapLookups {
  let port: PortMap | null = null;
  let addr: AddrMap | null = null;
  return {
    byPort: () => (port ??= { keys: numberIntervals(m.elements), target }),
    byAddr: () => (addr ??= { keys: bigIntervals(m.elements), target }),
  };
}

function baseChainsInPathOrder(rs: Ruleset) {
  return rs.chains
    .map((chain, i) => ({ chain, i }))
    .sort((a, b) => HOOK_ORDER[a.chain.base.hook] - HOOK_ORDER[b.chain.base.hook] || a.chain.base.priority - b.chain.base.priority || a.i - b.i)
    .map(({ chain }) => chain);
}

function prepare(rs: Ruleset): Prepared {
  const cuts = new Set<number>([0]);
  const addPortCuts = (set: readonly { readonly lo: bigint; readonly hi: bigint }[]) => {
    for (const { lo, hi } of set) {
      cuts.add(Number(lo));
      if (hi < PORT_MAX) cuts.add(Number(hi) + 1);
    }
  };
  const ordered = baseChainsInPathOrder(rs);
  const byName = new Map<string, PreparedChain>();
  const bases = ordered.map((chain, id): PreparedBaseChain => {
    const hook = chain.base.hook;
    const policy: PolicyDecider = { kind: "policy", chain: chain.name, hook, verdict: chain.base.policy };
    const c: PreparedBaseChain = { name: chain.name, id, rules: [], hook, policy, policySolo: { verdict: policy.verdict, by: policy, chains: [policy] } };
    byName.set(chain.name, c);
    return c;
  });
  (rs.regularChains ?? []).forEach((chain, i) => byName.set(chain.name, { name: chain.name, id: bases.length + i, rules: [] }));
  const chainNamed = (name: string) => {
    const c = byName.get(name);
    if (!c) throw new Error(`evaluator: jump to unknown chain ${name}`);
    return c;
  };
  const sets = new Map((rs.sets ?? []).map((s) => [s.name, s]));
  const maps = new Map<string, MapLookups>();
  for (const m of rs.maps ?? []) {
    if (m.type === "inet_service") addPortCuts(m.elements);
    maps.set(
      m.name,
      mapLookups(
        m,
        m.elements.map((e) => chainNamed(e.jump)),
      ),
    );
  }
  const mapNamed = (name: string) => {
    const m = maps.get(name);
    if (!m) throw new Error(`evaluator: lookup in unknown map ${name}`);
    return m;
  };

  const prepareRule = (chain: string, rule: KernelRule, index: number): PreparedRule | null => {
    const tests: Test[] = [];
    let rateLimit: RateLimit | null = null;
    let action: Action | null = null;
    for (const e of rule.exprs) {
      if (e.type === "limit") rateLimit ??= { rate: e.rate, burst: e.burst };
      if (e.type === "dport") addPortCuts(e.set);
      if (e.type === "verdict") action = { kind: "verdict", verdict: e.verdict, rateLimit };
      else if (e.type === "jump") action = { kind: "jump", chain: chainNamed(e.chain) };
      else if (e.type === "return") action = { kind: "return" };
      else if (e.type === "vmap") {
        const map = mapNamed(e.map);
        action = e.key.field === "dport" ? { kind: "portMap", map: map.byPort() } : { kind: "addrMap", map: map.byAddr(), family: e.key.family };
      } else if (e.type === "setLookup") {
        const set = sets.get(e.set);
        if (!set) throw new Error(`evaluator: lookup in unknown set ${e.set}`);
        // A named set matches exactly as the same elements in an anonymous set.
        tests.push(addrTest(e, set.elements));
      } else {
        const test = compileTest(e);
        if (test) tests.push(test);
      }
      if (action) break;
    }
    if (action === null) return null;
    if (rateLimit !== null && action.kind !== "verdict") throw new Error(`evaluator: a rate limit before a ${action.kind} is not supported`);
    return { tests, action, chain, index, rule, deciders: [] };
  };
  const prepareRules = (c: PreparedChain, rules: readonly KernelRule[]) => {
    c.rules = rules.flatMap((r, i) => prepareRule(c.name, r, i) ?? []);
  };
  ordered.forEach((chain, i) => prepareRules(bases[i]!, chain.rules));
  for (const chain of rs.regularChains ?? []) prepareRules(byName.get(chain.name)!, chain.rules);
  const frames: Frames = {
    chain: new Array<PreparedChain>(MAX_JUMP_DEPTH).fill(bases[0] ?? { name: "", id: -1, rules: [] }),
    next: new Int32Array(MAX_JUMP_DEPTH),
  };
  const subject: Subject = {
    family: 4,
    iif: "",
    ctState: "new",
    protocol: 0,
    icmpType: undefined,
    src: newKey(),
    daddr: newKey(),
    th23: undefined,
  };
  return {
    chains: bases,
    chainCount: bases.length + (rs.regularChains?.length ?? 0),
    cuts: [...cuts].sort((a, b) => a - b),
    classes: new Array<ClassRules | undefined>(2 * (PROTOCOL_MAX + 1) * CT_STATES.length),
    frames,
    subject,
  };
}
