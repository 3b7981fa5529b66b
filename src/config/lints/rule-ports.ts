// Lints on a rule's port selector (W002, W003, W007, W013, W018).
import { intersect, normalize, type IntervalSet } from "../../net/interval.js";
import { PROTOCOL_NAMES, type DefaultAction, type PortRange, type RuleConfig } from "../model.js";
import type { Finding } from "./finding.js";

const PROTOCOL_TEXT = new Map(Object.entries(PROTOCOL_NAMES).map(([name, n]) => [n, name]));

/** How a port element would be written plainly: `80`, or `80-90` for the dash form. */
function plainText(p: PortRange, written: string): string {
  return written.includes("-") ? `${p.lo}-${p.hi}` : `${p.lo}`;
}

export function portLints(rule: RuleConfig): Finding[] {
  const out: Finding[] = [];
  if (!rule.protocolSet) {
    out.push({ code: "W002", pos: rule.protocolPos, message: "protocol is not set: this rule matches layer-4 protocol 0 and has no effect" });
  }
  if (rule.protocol === 1 || rule.protocol === 58) {
    out.push({ code: "W003", pos: rule.protocolPos, message: "ICMP has no ports: the port list is compared with the ICMP checksum bytes (Talos #14070)" });
  }
  for (const p of rule.ports) {
    if (p.lo === 0) out.push({ code: "W013", pos: p.pos, message: "port 0 selected" });
    const written = p.raw.replace(/^(["'])(.*)\1$/, "$2"); // quotes are not part of the value
    const plain = plainText(p, written);
    if (written !== plain) out.push({ code: "W018", pos: p.pos, message: `port ${written} is read as ${plain}` });
  }
  return out;
}

function portSet(rule: RuleConfig): IntervalSet {
  return normalize(rule.ports.map((p) => ({ lo: BigInt(p.lo), hi: BigInt(p.hi) })));
}

/** A port interval of one rule, for the sweep below. */
interface Span {
  readonly lo: bigint;
  readonly hi: bigint;
  readonly rule: number;
}

/**
 * Per rule, how many earlier rules W007 names: the output is linear in the number of rules even when
 * thousands share a port (every pair would be millions of warnings).
 */
const NAMED_OVERLAPS = 3;

/** The earliest few earlier rules that overlap a rule (ascending), and whether there are others. */
interface Overlaps {
  readonly first: number[];
  more: boolean;
}

/** Note earlier rule j: the NAMED_OVERLAPS smallest indices seen are kept in order, any other one sets `more`. */
function noteOverlap(o: Overlaps, j: number): void {
  const { first } = o;
  if (first.includes(j)) return;
  if (first.length === NAMED_OVERLAPS) {
    o.more = true;
    if (j > first[NAMED_OVERLAPS - 1]!) return;
    first.pop();
  }
  let at = first.length;
  while (at > 0 && first[at - 1]! > j) at--;
  first.splice(at, 0, j);
}

/**
 * For each rule, the earlier rules of the same protocol with a port interval overlapping one of its
 * own. A sweep over the intervals sorted by start: whatever is still open when an interval starts
 * overlaps it, so the work is the sorting plus the pairs found, not every pair of rules.
 */
function overlappingEarlier(rules: readonly RuleConfig[], sets: readonly IntervalSet[]): Overlaps[] {
  const byProtocol = new Map<number, Span[]>();
  rules.forEach((rule, i) => {
    if (!rule.protocolSet) return;
    const spans = byProtocol.get(rule.protocol) ?? [];
    byProtocol.set(rule.protocol, spans);
    for (const iv of sets[i]!) if (iv.lo <= iv.hi) spans.push({ lo: iv.lo, hi: iv.hi, rule: i });
  });
  const earlier = rules.map((): Overlaps => ({ first: [], more: false }));
  for (const spans of byProtocol.values()) {
    spans.sort((a, b) => (a.lo < b.lo ? -1 : a.lo > b.lo ? 1 : 0));
    let open: Span[] = [];
    for (const cur of spans) {
      open = open.filter((o) => o.hi >= cur.lo);
      for (const o of open) {
        if (o.rule < cur.rule) noteOverlap(earlier[cur.rule]!, o.rule);
        else if (o.rule > cur.rule) noteOverlap(earlier[o.rule]!, cur.rule);
      }
      open.push(cur);
    }
  }
  return earlier;
}

/**
 * W007 for each rule (in rule order) against the earlier rules with the same protocol and overlapping
 * ports (§5.8): one warning per pair for the first NAMED_OVERLAPS of them, then one saying there are
 * more. Rules without a protocol are left out: they match nothing, so how they combine does not matter
 * (W002).
 */
export function overlapLints(rules: readonly RuleConfig[], mode: DefaultAction): Finding[][] {
  const effect =
    mode === "accept" ? "in accept mode a source must be allowed by both (intersection)" : "in block mode a source allowed by either gets in (union)";
  const sets = rules.map(portSet);
  return overlappingEarlier(rules, sets).map(({ first, more }, i) => {
    const rule = rules[i]!;
    const proto = PROTOCOL_TEXT.get(rule.protocol);
    if (proto === undefined) return [];
    const pairs = first.flatMap((j): Finding[] => {
      const other = rules[j]!;
      const shared = intersect(sets[j]!, sets[i]!);
      if (shared.length === 0) return [];
      const ports = shared.map((r) => `${r.lo}-${r.hi}`).join(",");
      return [{ code: "W007", pos: rule.portsPos, message: `rules ${other.name} and ${rule.name} both cover ${proto}/${ports}: ${effect}` }];
    });
    if (!more) return pairs;
    const named = first.map((j) => rules[j]!.name).join(", ");
    const message = `rule ${rule.name} also shares ${proto} ports with more earlier rules than ${named} (W007 names ${NAMED_OVERLAPS} per rule): ${effect}`;
    return [...pairs, { code: "W007", pos: rule.portsPos, message }];
  });
}
