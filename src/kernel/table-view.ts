// A table as lines of nft text, each keyed by its canonical form: the common ground of apply's
// "already equal?" and read-back checks, `diff`, and `status` drift and counter attribution.
import type { SourcePos } from "../config/diagnostics.js";
import { originLabel } from "../compile/ir.js";
import { priorityText } from "../compile/elements.js";
import { ruleText } from "../compile/nft-text.js";
import type { Ruleset } from "../compile/ruleset.js";
import { canonicalRule, canonicalSet, stableJson } from "./canonical.js";
import { align, type KeyedLine } from "./line-diff.js";
import { rulesByChain, type RawChain, type RawObject, type RawRule, type RawTable } from "./nft-listing.js";

/** What produced a kernel rule: `NetworkRuleConfig/<name>` (with its position) or a fixed Talos rule id. */
export interface RuleNote {
  readonly text: string;
  readonly origin: string;
  readonly pos: SourcePos | null;
}

export interface ChainNote {
  readonly name: string;
  readonly rules: readonly RuleNote[];
}

export interface RuleView {
  readonly key: string;
  readonly text: string;
  readonly handle?: number;
  readonly packets?: number;
  readonly bytes?: number;
  readonly note?: RuleNote;
}

export interface ChainView {
  readonly name: string;
  /** Canonical chain properties (type, hook, priority, policy). */
  readonly key: string;
  readonly header: string | null;
  readonly rules: readonly RuleView[];
}

/** A table both as read (or as a transaction builds it) and as compared. */
export interface TableState {
  readonly raw: RawTable;
  readonly view: TableView;
}

export interface TableView {
  readonly family: string;
  readonly name: string;
  readonly flags: readonly string[];
  readonly chains: readonly ChainView[];
  readonly objects: readonly KeyedLine[];
}

/** Per-rule notes of a compiled ruleset, in the order its transaction adds the rules. */
export function rulesetNotes(rs: Ruleset): ChainNote[] {
  return [...rs.chains, ...(rs.regularChains ?? [])].map((c) => ({
    name: c.name,
    rules: c.rules.map((r) => ({ text: ruleText(r), origin: originLabel(r.origin), pos: r.origin.kind === "rule" ? r.origin.pos : null })),
  }));
}

function chainKey(c: RawChain): string {
  return c.hook === undefined ? "regular" : `type ${c.type} hook ${c.hook} prio ${c.prio} policy ${c.policy ?? "accept"}`;
}

function chainHeader(c: RawChain): string | null {
  return c.hook === undefined ? null : `type ${c.type} hook ${c.hook} priority ${priorityText(c.prio ?? 0)}; policy ${c.policy ?? "accept"};`;
}

function build(raw: RawTable, ruleView: (rule: RawRule, indexInChain: number, key: string) => RuleView): TableView {
  const rulesOf = rulesByChain(raw.rules);
  const chains = [...raw.chains]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((c): ChainView => {
      const rules = (rulesOf.get(c.name) ?? []).map((r, i) => ruleView(r, i, canonicalRule(r.expr)));
      return { name: c.name, key: chainKey(c), header: chainHeader(c), rules };
    });
  const isSet = (o: RawObject) => o.kind === "set" || o.kind === "map";
  const objects = [
    ...raw.objects.filter((o) => !isSet(o)).map((o) => ({ key: `${o.kind} ${o.name} ${stableJson(o.json)}`, text: `${o.kind} ${o.name} { … }` })),
    ...raw.objects
      .filter(isSet)
      .sort((a, b) => (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .flatMap(setLines),
  ];
  return { family: raw.family, name: raw.name, flags: raw.flags, chains, objects };
}

/** A named set or map, one line per element so a diff shows which elements change. */
function setLines(o: RawObject): KeyedLine[] {
  const c = canonicalSet(o.kind, o.json);
  // Not an interval set or map of addresses or ports: compared whole, shown by name.
  if (c === null) return [{ key: `${o.kind} ${o.name} ${stableJson(o.json)}`, text: `${o.kind} ${o.name} { … }` }];
  const id = `${o.kind} ${o.name}`;
  const props = c.header.slice(id.length + 1).replace(" flags ", "; flags ");
  return [
    { key: `${id} {`, text: `${id} {` },
    { key: `${id} ${c.header}`, text: `  ${props}` },
    ...c.elements.map((e) => ({ key: `${id} element ${e}`, text: `  element ${e}` })),
    { key: `${id} }`, text: "}" },
  ];
}

/** The live table; `ruleTexts` (by handle, from `nft -a list`) gives nft's own spelling of each rule. */
export function liveView(raw: RawTable, ruleTexts: ReadonlyMap<number, string> = new Map()): TableView {
  return build(raw, (r, _i, key) => ({
    key,
    text: (r.handle !== undefined ? ruleTexts.get(r.handle) : undefined) ?? key,
    handle: r.handle,
    packets: r.packets,
    bytes: r.bytes,
  }));
}

/** The table a transaction builds, its rules annotated with the notes of the ruleset that produced it. */
export function expectedView(raw: RawTable, notes: readonly ChainNote[]): TableView {
  // The first note of a name wins, as a linear search would find it.
  const notesByChain = new Map<string, ChainNote>();
  for (const n of notes) if (!notesByChain.has(n.name)) notesByChain.set(n.name, n);
  return build(raw, (r, i, key) => {
    const note = notesByChain.get(r.chain)?.rules[i];
    return { key, text: note?.text ?? key, note };
  });
}

/** A view's lines: keys for comparison, text for display. A chain's rules keep their order. */
export interface ViewLine extends KeyedLine {
  readonly chain?: string;
  readonly rule?: RuleView;
}

export function viewLines(v: TableView | null): ViewLine[] {
  if (v === null) return [];
  const flags = v.flags.length ? ` flags ${v.flags.join(",")}` : "";
  const lines: ViewLine[] = [{ key: `table ${v.family} ${v.name}${flags}`, text: `table ${v.family} ${v.name} {` }];
  if (flags) lines.push({ key: `flags ${v.flags.join(",")}`, text: `  flags ${v.flags.join(",")}` });
  for (const o of v.objects) lines.push({ key: `object ${o.key}`, text: `  ${o.text}` });
  for (const c of v.chains) {
    lines.push({ key: `chain ${c.name}`, text: `  chain ${c.name} {`, chain: c.name });
    if (c.header !== null) lines.push({ key: `header ${c.name} ${c.key}`, text: `    ${c.header}`, chain: c.name });
    for (const r of c.rules) lines.push({ key: `rule ${c.name} ${r.key}`, text: `    ${r.text}`, chain: c.name, rule: r });
    lines.push({ key: `end ${c.name}`, text: "  }", chain: c.name });
  }
  lines.push({ key: "end", text: "}" });
  return lines;
}

export function viewsEqual(a: TableView | null, b: TableView | null): boolean {
  const la = viewLines(a);
  const lb = viewLines(b);
  return la.length === lb.length && la.every((l, i) => l.key === lb[i]!.key);
}

/** The first line where two views differ, for one-line error messages. */
export function firstDifference(actual: TableView | null, expected: TableView | null): string {
  const la = viewLines(actual);
  const lb = viewLines(expected);
  const step = align(
    la.map((l) => l.key),
    lb.map((l) => l.key),
  ).find((s) => s.op !== "=");
  if (!step) return "no difference";
  if (step.op === "+") return `missing: ${lb[step.b!]!.text.trim()}`;
  return `unexpected: ${la[step.a!]!.text.trim()}`;
}
