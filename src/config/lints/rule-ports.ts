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

/**
 * W007 for `rule` against every earlier rule with the same protocol and overlapping ports (§5.8). Rules
 * without a protocol are left out: they match nothing, so how they combine does not matter (W002).
 */
export function overlapLints(rule: RuleConfig, earlier: readonly RuleConfig[], mode: DefaultAction): Finding[] {
  const proto = PROTOCOL_TEXT.get(rule.protocol);
  if (!rule.protocolSet || proto === undefined) return [];
  const effect =
    mode === "accept" ? "in accept mode a source must be allowed by both (intersection)" : "in block mode a source allowed by either gets in (union)";
  return earlier.flatMap((other) => {
    if (!other.protocolSet || other.protocol !== rule.protocol) return [];
    const shared = intersect(portSet(other), portSet(rule));
    if (shared.length === 0) return [];
    const ports = shared.map((r) => `${r.lo}-${r.hi}`).join(",");
    return [{ code: "W007", pos: rule.portsPos, message: `rules ${other.name} and ${rule.name} both cover ${proto}/${ports}: ${effect}` }];
  });
}
