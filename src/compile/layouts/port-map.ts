// The `port-map` layout (performance.md, "the shape to emit"): the documents' rules become, per protocol,
// one interval verdict map from disjoint destination-port segments to regular chains, so a packet costs a
// port lookup and one or two source lookups however many documents there are. The fixed rules Talos adds
// (trusted interfaces, conntrack, ICMP, host DNS, pod/service, prerouting's guards and drops) are lowered
// exactly as in the per-rule layout, and the map lookup stands where the documents' rules stood.
//
//   map p6_dports { type inet_service : verdict; flags interval; elements = { 2379-2380 : jump r0, 7000 : jump o0 } }
//   chain r0 { ip saddr @c0_v4 counter accept; meta nfproto ipv6 counter accept }   # document 0
//   chain r1 { ip saddr 10.0.0.0/8 counter accept }                                  # document 1, few sources
//   chain o0 { ip saddr vmap @o0_v4 }                                                # documents overlapping on 7000
//   chain r3v { counter accept }                                                     # document 3, source decided
//   chain ingress { …preamble…; meta l4proto tcp th dport vmap @p6_dports }
//
// Each document (NetworkRuleConfig) has its chain r<i>: its source test per family, its counter and its
// verdict. A family's sources are tested inline when they are a few intervals, else against a named set
// c<k>_v4 / c<k>_v6 (one per distinct set of sources, shared by the documents admitting exactly those). On ports only it covers, the map jumps straight there. Where documents
// overlap, the per-rule chain lets the
// first matching rule decide; o<j> reproduces that with a source verdict map whose disjoint pieces jump
// to the deciding document's r<i>v chain (counter and verdict only). So every packet is counted by, and
// `check` names, the same document as in the per-rule layout, and the union (block mode) /
// intersection (accept mode) of overlapping documents falls out of the pieces.
// Accept mode: r<i> returns for admitted sources and ends in `drop`; the maps list only segments where
// some document drops something. Names are stable for a given configuration: r<i> by document order,
// c<k>_v<family> and o<j> in order of first use, p<protocol>_dports per protocol.
import { FAMILY_MAX, type Family, type Prefix } from "../../net/address.js";
import { coversAll, equals, type IntervalSet } from "../../net/interval.js";
import { familySet } from "../../net/source-set.js";
import { logRulesFor, withLogRules } from "../drop-log.js";
import { lowerRule } from "../families.js";
import type { IrChain, IrRule, IrTable, Origin, PortSpan } from "../ir.js";
import type { SourcePos } from "../../config/diagnostics.js";
import type { ProfileName } from "../profiles.js";
import {
  ADDR_TYPE,
  type Expr,
  type KernelChain,
  type KernelRule,
  type MapElement,
  type NamedSet,
  type RegularChain,
  type Ruleset,
  type VerdictMap,
} from "../ruleset.js";
import { decidingPieces, familyOf, portSegments, type ClassRule, type Mode, type Piece } from "./port-classes.js";

const FAMILIES: readonly Family[] = [4, 6];
/** Neither empty nor the whole family: tested with a named set. */
const partial = (s: IntervalSet, f: Family) => s.length > 0 && !coversAll(s, FAMILY_MAX[f]);
const PORT_MAX = 65535;
/** Source sets of up to this many intervals are tested inline, rule by rule (performance.md; docs/verified.md). */
const INLINE_INTERVALS = 4;
const PORT_DISPATCH: Origin = { kind: "builtin", id: "port-dispatch" };
const SOURCE_DISPATCH: Origin = { kind: "builtin", id: "source-dispatch" };

/** Protocol 0 has its own chain for the map lookup: nft 1.0.6 aborts listing `meta l4proto 0` + `th dport vmap` (docs/verified.md). */
export const PROTOCOL0_CHAIN = "p0";

export const portMapName = (protocol: number) => `p${protocol}_dports`;
export const documentChainName = (doc: number) => `r${doc}`;
export const decidedChainName = (doc: number) => `r${doc}v`;
/** The k-th distinct source set of family f (numbered per family in document order). */
export const classSetName = (k: number, f: Family) => `c${k}_v${f}`;
export const overlapChainName = (j: number) => `o${j}`;
export const overlapMapName = (j: number, f: Family) => `o${j}_v${f}`;

/** A NetworkRuleConfig as the layout sees it: the IR rule (from the first chain it appears in) and its ports and sources. */
interface Doc {
  readonly rule: IrRule;
  readonly cls: ClassRule;
}

const samePrefixes = (a: readonly Prefix[], b: readonly Prefix[]) =>
  a.length === b.length && a.every((p, i) => p.family === b[i]!.family && p.addr === b[i]!.addr && p.bits === b[i]!.bits);
const samePorts = (a: readonly PortSpan[] = [], b: readonly PortSpan[] = []) =>
  a.length === b.length && a.every((p, i) => p.lo === b[i]!.lo && p.hi === b[i]!.hi);

/** Whether two IR rules of one document (in different chains) match and act alike, guards aside. */
function sameDocumentRule(a: IrRule, b: IrRule): boolean {
  const src = (x: IrRule) => x.src ?? { include: [], exclude: [], invert: false };
  return (
    a.l4?.protocol === b.l4?.protocol &&
    samePorts(a.l4?.dports, b.l4?.dports) &&
    samePrefixes(src(a).include, src(b).include) &&
    samePrefixes(src(a).exclude, src(b).exclude) &&
    src(a).invert === src(b).invert &&
    (a.src === undefined) === (b.src === undefined) &&
    a.verdict === b.verdict &&
    a.counter === b.counter &&
    a.log?.prefix === b.log?.prefix &&
    a.log?.group === b.log?.group
  );
}

function unsupported(rule: IrRule, what: string): never {
  throw new Error(`port-map layout: a document's IR rule ${what}: ${JSON.stringify(rule.origin)}`);
}

function classRule(r: IrRule): ClassRule {
  if (!r.l4) unsupported(r, "has no protocol");
  if (r.iifname || r.dst || r.limit || r.l4.icmpTypes?.length) unsupported(r, "has matches other than protocol, ports and sources");
  const all = (f: Family) => [{ lo: 0n, hi: FAMILY_MAX[f] }];
  const allowed = (f: Family) => (r.src ? familySet(r.src.include, r.src.exclude, f) : all(f));
  return {
    protocol: r.l4.protocol,
    // No port list (never from a validated document) would match every value of transport bytes 2..3.
    dports: r.l4.dports?.length ? r.l4.dports : [{ lo: 0, hi: PORT_MAX }],
    allowed: { v4: allowed(4), v6: allowed(6) },
  };
}

/** The documents in order of first appearance (document order), and the mode their verdicts say. */
function collectDocs(ir: IrTable): { docs: Doc[]; mode: Mode | null } {
  const docs: Doc[] = [];
  // By the document's source position object, which buildIr shares between its rules in both chains (a
  // string key costs more than the rest of the layout at 5000 documents). Were it not shared, the
  // document would appear twice with the same ports and sources, and its first copy would decide
  // everywhere: the same tables.
  const indexOf = new Map<SourcePos, number>();
  let mode: Mode | null = null;
  for (const chain of ir.chains) {
    for (const r of chain.rules) {
      if (r.origin.kind !== "rule") continue;
      // A document admits (accept) in block mode and drops what it does not admit in accept mode.
      const m: Mode = r.verdict === "accept" ? "block" : "accept";
      if (mode !== null && m !== mode) throw new Error("port-map layout: documents with both verdicts in one table");
      mode = m;
      const seen = indexOf.get(r.origin.pos);
      if (seen === undefined) {
        indexOf.set(r.origin.pos, docs.length);
        docs.push({ rule: r, cls: classRule(r) });
      } else if (!sameDocumentRule(docs[seen]!.rule, r)) {
        unsupported(r, "differs between chains");
      }
    }
  }
  return { docs, mode };
}

/** Whether a document ever decides anything: admits some source (block) or refuses some (accept). */
function acts(d: Doc, mode: Mode): boolean {
  return FAMILIES.some((f) => {
    const s = familyOf(d.cls.allowed, f);
    return mode === "block" ? s.length > 0 : !coversAll(s, FAMILY_MAX[f]);
  });
}

class Builder {
  readonly sets: NamedSet[] = [];
  readonly maps: VerdictMap[] = [];
  readonly overlapChains: RegularChain[] = [];
  private readonly setsByStart: Record<Family, Map<string, NamedSet[]>> = { 4: new Map(), 6: new Map() };
  private readonly setCount: Record<Family, number> = { 4: 0, 6: 0 };
  /** Documents whose r<i> / r<i>v chains are jumped to; built in document order by `documentChains`. */
  private readonly docChainUsed = new Set<number>();
  private readonly decidedChainUsed = new Set<number>();
  private readonly overlapOf = new Map<string, string>();

  constructor(
    private readonly docs: readonly Doc[],
    private readonly mode: Mode,
  ) {}

  /** The named set holding these sources of family f: one per distinct set, shared by every document admitting exactly them. */
  private sourceSet(f: Family, elements: IntervalSet): string {
    // Bucketed by the first address (as text: V8 hashes bigint keys poorly), then compared in full.
    const start = String(elements[0]!.lo);
    const bucket = this.setsByStart[f].get(start) ?? [];
    const known = bucket.find((s) => equals(s.elements, elements));
    if (known) return known.name;
    const set: NamedSet = { name: classSetName(this.setCount[f]++, f), type: ADDR_TYPE[f], elements };
    bucket.push(set);
    this.setsByStart[f].set(start, bucket);
    this.sets.push(set);
    return set.name;
  }

  /**
   * The tests admitting sources of family f: one plain comparison per interval when there are few (no set
   * object: the kernel's named interval sets cost ~16 KiB each and a name search per use, so thousands of
   * small classes would load in seconds), else one lookup in a named set.
   */
  private sourceTests(f: Family, sources: IntervalSet): Expr[][] {
    if (sources.length <= INLINE_INTERVALS) return sources.map((iv) => [{ type: "addr", field: "saddr", family: f, op: "==", set: [iv], bare: true }]);
    return [[{ type: "setLookup", field: "saddr", family: f, set: this.sourceSet(f, sources) }]];
  }

  /** The document's final statements: log (accept mode with drop logging), counter, verdict. */
  private verdictRules(d: Doc): KernelRule[] {
    const r = d.rule;
    const last: KernelRule = { exprs: [...(r.counter ? [{ type: "counter" } as const] : []), { type: "verdict", verdict: r.verdict }], origin: r.origin };
    return r.log ? [...logRulesFor([last], r.log), last] : [last];
  }

  /** The jump target for document i's own chain. */
  docChain(i: number): string {
    this.docChainUsed.add(i);
    return documentChainName(i);
  }

  private decidedChain(i: number): string {
    this.decidedChainUsed.add(i);
    return decidedChainName(i);
  }

  /** r<i>: the document's source test per family, then its verdict (block: on a match; accept: for the rest). */
  private buildDocChain(i: number): RegularChain {
    const d = this.docs[i]!;
    const whole = (f: Family) => coversAll(familyOf(d.cls.allowed, f), FAMILY_MAX[f]);
    const tests: Expr[][] = [];
    if (whole(4) && whole(6)) tests.push([]);
    else {
      for (const f of FAMILIES) {
        if (whole(f)) tests.push([{ type: "nfproto", family: f }]);
        else if (partial(familyOf(d.cls.allowed, f), f)) tests.push(...this.sourceTests(f, familyOf(d.cls.allowed, f)));
      }
    }
    const rules: KernelRule[] =
      this.mode === "block"
        ? tests.flatMap((t) => this.verdictRules(d).map((v) => ({ exprs: [...t, ...v.exprs], origin: v.origin })))
        : [...tests.map((t): KernelRule => ({ exprs: [...t, { type: "return" }], origin: d.rule.origin })), ...this.verdictRules(d)];
    return { name: documentChainName(i), rules };
  }

  /**
   * The documents' chains in document order (set numbers follow that order): r<i>, then r<i>v —
   * the document's verdict for sources an overlap map has already given to it.
   */
  documentChains(): RegularChain[] {
    const order = (used: ReadonlySet<number>) => [...used].sort((a, c) => a - c);
    return [
      ...order(this.docChainUsed).map((i) => this.buildDocChain(i)),
      ...order(this.decidedChainUsed).map((i) => ({ name: decidedChainName(i), rules: this.verdictRules(this.docs[i]!) })),
    ];
  }

  /** o<j>: per family, a source verdict map to the deciding documents (or a bare jump when one decides all). */
  overlapChain(pieces: ReadonlyMap<Family, readonly Piece[]>): string {
    const key = FAMILIES.map((f) =>
      pieces
        .get(f)!
        .map((p) => `${p.lo}-${p.hi}:${p.rule}`)
        .join(","),
    ).join("|");
    let name = this.overlapOf.get(key);
    if (name !== undefined) return name;
    const j = this.overlapOf.size;
    name = overlapChainName(j);
    this.overlapOf.set(key, name);
    const rules: KernelRule[] = [];
    for (const f of FAMILIES) {
      const ps = pieces.get(f)!;
      if (ps.length === 0) continue;
      if (ps.length === 1 && ps[0]!.lo === 0n && ps[0]!.hi === FAMILY_MAX[f]) {
        rules.push({
          exprs: [
            { type: "nfproto", family: f },
            { type: "jump", chain: this.decidedChain(ps[0]!.rule) },
          ],
          origin: SOURCE_DISPATCH,
        });
        continue;
      }
      const map = overlapMapName(j, f);
      this.maps.push({ name: map, type: ADDR_TYPE[f], elements: ps.map((p) => ({ lo: p.lo, hi: p.hi, jump: this.decidedChain(p.rule) })) });
      rules.push({ exprs: [{ type: "vmap", key: { field: "saddr", family: f }, map }], origin: SOURCE_DISPATCH });
    }
    this.overlapChains.push({ name, rules });
    return name;
  }
}

/** Per protocol, the port map's elements: each segment's target, adjacent segments with one target merged. */
function portMaps(docs: readonly Doc[], mode: Mode, b: Builder): Map<number, MapElement[]> {
  const classRules = docs.map((d) => d.cls);
  const out = new Map<number, MapElement[]>();
  const targetOfCover = new Map<string, string | null>();
  for (const [protocol, segments] of portSegments(classRules)) {
    const elements: MapElement[] = [];
    for (const seg of segments) {
      const coverKey = seg.cover.join(",");
      let target = targetOfCover.get(coverKey);
      if (target === undefined) {
        if (seg.cover.length === 1) {
          target = acts(docs[seg.cover[0]!]!, mode) ? b.docChain(seg.cover[0]!) : null;
        } else {
          const pieces = new Map(FAMILIES.map((f) => [f, decidingPieces(classRules, seg.cover, mode, f)] as const));
          const deciders = new Set(FAMILIES.flatMap((f) => pieces.get(f)!.map((p) => p.rule)));
          // A single document decides everything decided here: its own chain tests exactly those sources.
          target = deciders.size === 0 ? null : deciders.size === 1 ? b.docChain([...deciders][0]!) : b.overlapChain(pieces);
        }
        targetOfCover.set(coverKey, target);
      }
      if (target === null) continue;
      const last = elements[elements.length - 1];
      if (last && last.jump === target && last.hi + 1n === BigInt(seg.lo)) elements[elements.length - 1] = { ...last, hi: BigInt(seg.hi) };
      else elements.push({ lo: BigInt(seg.lo), hi: BigInt(seg.hi), jump: target });
    }
    if (elements.length > 0) out.set(protocol, elements);
  }
  return out;
}

/** The kernel rules of one base chain: fixed rules as in per-rule, the map lookups where the documents' rules were. */
function baseChainRules(chain: IrChain, protocols: readonly number[]): KernelRule[] {
  const first = chain.rules.findIndex((r) => r.origin.kind === "rule");
  if (first < 0) return withLogRules(chain, lowerRule);
  let end = first;
  while (end < chain.rules.length && chain.rules[end]!.origin.kind === "rule") end++;
  if (chain.rules.slice(end).some((r) => r.origin.kind === "rule"))
    throw new Error(`port-map layout: the documents' rules in chain ${chain.name} are not contiguous`);
  const docRule = chain.rules[first]!;
  const guard: Expr[] = docRule.ctState ? [{ type: "ctState", states: docRule.ctState }] : [];
  if (chain.rules.slice(first, end).some((r) => JSON.stringify(r.ctState) !== JSON.stringify(docRule.ctState))) {
    throw new Error(`port-map layout: the documents' rules in chain ${chain.name} differ in their conntrack guard`);
  }
  const dispatch = protocols.map((p): KernelRule => ({
    exprs:
      p === 0
        ? [...guard, { type: "l4proto", protocol: 0 }, { type: "jump", chain: PROTOCOL0_CHAIN }]
        : [...guard, { type: "l4proto", protocol: p }, { type: "vmap", key: { field: "dport" }, map: portMapName(p) }],
    origin: PORT_DISPATCH,
  }));
  return [
    ...withLogRules({ ...chain, rules: chain.rules.slice(0, first), policyLog: undefined }, lowerRule),
    ...dispatch,
    ...withLogRules({ ...chain, rules: chain.rules.slice(end) }, lowerRule),
  ];
}

export function layoutPortMap(ir: IrTable, table: string, profile: ProfileName): Ruleset {
  const { docs, mode } = collectDocs(ir);
  const b = new Builder(docs, mode ?? "block");
  const elements = mode === null ? new Map<number, MapElement[]>() : portMaps(docs, mode, b);
  const protocols = [...elements.keys()].sort((a, c) => a - c);
  const portMapList: VerdictMap[] = protocols.map((p) => ({ name: portMapName(p), type: "inet_service", elements: elements.get(p)! }));
  const regularChains = [...b.documentChains(), ...b.overlapChains];
  const protocol0: RegularChain[] = elements.has(0)
    ? [{ name: PROTOCOL0_CHAIN, rules: [{ exprs: [{ type: "vmap", key: { field: "dport" }, map: portMapName(0) }], origin: PORT_DISPATCH }] }]
    : [];
  const chains: KernelChain[] = ir.chains.map((c) => ({
    name: c.name,
    base: { hook: c.hook, priority: c.priority, policy: c.policy },
    rules: baseChainRules(c, protocols),
  }));
  return {
    family: "inet",
    table,
    profile,
    layout: "port-map",
    chains,
    ...(ir.logLimit ? { limits: [ir.logLimit] } : {}),
    regularChains: [...regularChains, ...protocol0],
    sets: b.sets,
    maps: [...b.maps, ...portMapList],
  };
}
