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
 * For each rule, the earlier rules (ascending) of the same protocol with a port interval overlapping one
 * of its own. A sweep over the intervals sorted by start: whatever is still open when an interval starts
 * overlaps it, so the work is the sorting plus the pairs found, not every pair of rules.
 */
function overlappingEarlier(rules: readonly RuleConfig[], sets: readonly IntervalSet[]): number[][] {
  const byProtocol = new Map<number, Span[]>();
  rules.forEach((rule, i) => {
    if (!rule.protocolSet) return;
    const spans = byProtocol.get(rule.protocol) ?? [];
    byProtocol.set(rule.protocol, spans);
    for (const iv of sets[i]!) if (iv.lo <= iv.hi) spans.push({ lo: iv.lo, hi: iv.hi, rule: i });
  });
  const earlier = rules.map((): number[] => []);
  for (const spans of byProtocol.values()) {
    spans.sort((a, b) => (a.lo < b.lo ? -1 : a.lo > b.lo ? 1 : 0));
    let open: Span[] = [];
    for (const cur of spans) {
      open = open.filter((o) => o.hi >= cur.lo);
      for (const o of open) {
        if (o.rule < cur.rule) earlier[cur.rule]!.push(o.rule);
        else if (o.rule > cur.rule) earlier[o.rule]!.push(cur.rule);
      }
      open.push(cur);
    }
  }
  // A pair of rules is found once per pair of overlapping intervals.
  return earlier.map((list) => [...new Set(list)].sort((a, b) => a - b));
}

/**
 * W007 for each rule (in rule order) against every earlier rule with the same protocol and overlapping
 * ports (§5.8). Rules without a protocol are left out: they match nothing, so how they combine does not
 * matter (W002).
 */
export function overlapLints(rules: readonly RuleConfig[], mode: DefaultAction): Finding[][] {
  const effect =
    mode === "accept" ? "in accept mode a source must be allowed by both (intersection)" : "in block mode a source allowed by either gets in (union)";
  const sets = rules.map(portSet);
  return overlappingEarlier(rules, sets).map((earlier, i) => {
    const rule = rules[i]!;
    const proto = PROTOCOL_TEXT.get(rule.protocol);
    if (proto === undefined) return [];
    return earlier.flatMap((j) => {
      const other = rules[j]!;
      const shared = intersect(sets[j]!, sets[i]!);
      if (shared.length === 0) return [];
      const ports = shared.map((r) => `${r.lo}-${r.hi}`).join(",");
      return [{ code: "W007", pos: rule.portsPos, message: `rules ${other.name} and ${rule.name} both cover ${proto}/${ports}: ${effect}` }];
    });
  });
}
