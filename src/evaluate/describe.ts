// Evaluations in words and as JSON: which verdict, which rule (document and YAML position, or the
// builtin rule Talos adds) or chain policy decided it, and the nft text of that rule.
import type { BuiltinId, Origin } from "../compile/ir.js";
import { ruleText } from "../compile/nft-text.js";
import { formatAddress } from "../net/address.js";
import type { Decider, Decision, Evaluation, PolicyDecider, RateLimit, RuleDecider, Undetermined } from "./evaluate.js";
import { PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP, hasPorts, isIcmp, type Packet } from "./packet.js";

export const BUILTIN_DESCRIPTIONS: Record<BuiltinId, string> = {
  "trusted-interfaces": "traffic on lo, siderolink and kubespan is always accepted",
  "conntrack-established": "packets of established or related connections are accepted",
  "conntrack-invalid": "packets conntrack classifies as invalid are dropped",
  "icmp-type-drop": "ICMP timestamp and address-mask messages are dropped (CVE-1999-0524)",
  "icmp-limit": "ICMP is accepted under one global rate limit (block mode)",
  "icmpv6-limit": "ICMPv6 is accepted under one global rate limit (block mode)",
  "host-dns-udp": "DNS over UDP from pod/service subnets to the host DNS address is accepted",
  "host-dns-tcp": "DNS over TCP from pod/service subnets to the host DNS address is accepted",
  "pod-service": "traffic between pod/service subnets is accepted (native-routing CNIs)",
  "not-for-node": "not addressed to a node address: leaves prerouting (the input chain still filters it)",
  "new-tcp-drop": "new TCP connections to a node address that no rule admits are dropped before DNAT (block mode)",
  "new-udp-drop": "new UDP flows to a node address that no rule admits are dropped before DNAT (block mode)",
  "policy-drop-log": "packets the chain's drop policy is about to discard are logged (IngressLogConfig); no verdict",
  "port-dispatch": "the packet goes by protocol and destination port to the chain of the documents covering that port (port-map layout)",
  "source-dispatch": "where several documents cover a port, the source address picks the one whose rule comes first (port-map layout)",
};

const PROTOCOL_LABELS: Record<number, string> = { [PROTO_ICMP]: "icmp", [PROTO_TCP]: "tcp", [PROTO_UDP]: "udp", [PROTO_ICMPV6]: "icmpv6" };

export function protocolLabel(protocol: number): string {
  return PROTOCOL_LABELS[protocol] ?? `protocol ${protocol}`;
}

export function rateText(l: RateLimit): string {
  return `${l.rate}/s`;
}

const DEPENDS_ON: Record<Undetermined["on"], string> = {
  dport: "destination port",
  "icmp-checksum": "ICMP checksum (a port list in an ICMP rule compares the checksum, Talos #14070)",
  "transport-bytes-2-3": "transport header bytes 2..3",
};

/** `accept`, `drop`, `accept (rate-limited: 5/s)` or `depends on …`. */
export function verdictText(e: Evaluation): string {
  if (e.verdict === "depends") return `depends on the ${DEPENDS_ON[e.on]}`;
  const limit = e.by.kind === "rule" ? e.by.rateLimit : null;
  return limit ? `${e.verdict} (rate-limited: ${rateText(limit)})` : e.verdict;
}

export function originText(o: Origin): string {
  return o.kind === "rule" ? `NetworkRuleConfig/${o.name} (${o.pos.file}:${o.pos.line}:${o.pos.col})` : `builtin ${o.id}: ${BUILTIN_DESCRIPTIONS[o.id]}`;
}

/** `r3`, or `ingress → o0 → r3v` for a rule reached by jumps (port-map layout). */
export function chainPath(d: RuleDecider | PolicyDecider): string {
  return d.kind === "rule" && d.via.length > 0 ? `${d.via.join(" → ")} → ${d.chain}` : d.chain;
}

/** One line: what decided, e.g. `rule 6 of chain ingress, NetworkRuleConfig/kubelet-ingress (cp.yaml:6:1)`. */
export function deciderText(d: Decider): string {
  switch (d.kind) {
    case "rule":
      return `rule ${d.index} of chain ${chainPath(d)}, ${originText(d.origin)}`;
    case "policy":
      return `policy of chain ${d.chain} (no rule matched)`;
    case "unfiltered":
      return "no chain of the table is on this packet's path";
  }
}

function spansText(spans: readonly { lo: number; hi: number }[]): string {
  return spans.map((s) => (s.lo === s.hi ? String(s.lo) : `${s.lo}-${s.hi}`)).join(", ");
}

export function packetText(p: Packet): string {
  const addr = (v: bigint) => formatAddress(p.family, v);
  const parts = [`${protocolLabel(p.protocol)} ${addr(p.src)} -> ${addr(p.dst)}`];
  if (hasPorts(p.protocol) && p.dport !== undefined) parts[0] += ` port ${p.dport}`;
  if (isIcmp(p.protocol)) {
    if (p.icmpType !== undefined) parts[0] += ` type ${p.icmpType}`;
    if (p.icmpChecksum !== undefined) parts[0] += ` checksum ${p.icmpChecksum}`;
  }
  if (p.origDst !== undefined) parts.push(`DNAT'd from ${addr(p.origDst)}${p.origDport !== undefined ? ` port ${p.origDport}` : ""}`);
  if (p.forwarded) parts.push("forwarded");
  parts.push(`iifname ${JSON.stringify(p.iif)}`, `ct state ${p.ctState}`);
  return parts.join(", ");
}

/** Within its chain's line: `rule 6, NetworkRuleConfig/…` or `the chain's policy`. */
function inChainText(d: RuleDecider | PolicyDecider): string {
  return d.kind === "rule" ? `rule ${d.index}, ${originText(d.origin)}` : "the chain's policy (no rule matched)";
}

function decisionLines(d: Decision, indent: string): string[] {
  if (d.chains.length === 0) return [`${indent}${d.verdict}: ${deciderText(d.by)}`];
  const lines: string[] = [];
  for (const c of d.chains) {
    if (c.kind === "unfiltered") continue;
    const verdict = c.kind === "rule" && c.rateLimit ? `${c.verdict} (rate-limited: ${rateText(c.rateLimit)})` : c.verdict;
    const endsChainOnly = c.verdict === "accept" && c !== d.by ? " — an accept ends only this chain" : "";
    lines.push(`${indent}chain ${chainPath(c)} (${c.hook} hook): ${verdict} by ${inChainText(c)}${endsChainOnly}`);
    if (c.kind === "rule") {
      lines.push(`${indent}    ${ruleText(c.rule)}`);
      if (c.rateLimit && c.aboveRate) {
        lines.push(`${indent}  above ${rateText(c.rateLimit)}: ${verdictText(c.aboveRate)}`);
        lines.push(...decisionLines(c.aboveRate, `${indent}    `));
      }
    }
  }
  return lines;
}

/** The explanation `check` prints: the verdict line, then one block per chain the packet met. */
export function evaluationText(e: Evaluation, packet: Packet): string[] {
  const lines = [`${verdictText(e)}: ${packetText(packet)}`];
  if (e.verdict !== "depends") return [...lines, ...decisionLines(e, "  ")];
  const label = e.on === "dport" ? "port" : e.on === "icmp-checksum" ? "checksum" : "bytes 2..3";
  for (const c of e.cases) {
    lines.push(`  ${label} ${spansText(c.values)}: ${verdictText(c.decision)}`);
    lines.push(...decisionLines(c.decision, "    "));
  }
  return lines;
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function originJson(o: Origin): Json {
  return o.kind === "rule"
    ? { kind: "rule", name: o.name, file: o.pos.file, line: o.pos.line, col: o.pos.col }
    : { kind: "builtin", id: o.id, description: BUILTIN_DESCRIPTIONS[o.id] };
}

function deciderJson(d: Decider): Json {
  switch (d.kind) {
    case "rule":
      return {
        kind: "rule",
        chain: d.chain,
        via: [...d.via],
        hook: d.hook,
        index: d.index,
        verdict: d.verdict,
        origin: originJson(d.origin),
        nft: ruleText(d.rule),
        rateLimit: d.rateLimit ? { rate: d.rateLimit.rate, burst: d.rateLimit.burst } : null,
        aboveRate: d.aboveRate ? decisionJson(d.aboveRate) : null,
      };
    case "policy":
      return { kind: "policy", chain: d.chain, hook: d.hook, verdict: d.verdict };
    case "unfiltered":
      return { kind: "unfiltered", verdict: d.verdict };
  }
}

function decisionJson(d: Decision): { [key: string]: Json } {
  return { verdict: d.verdict, text: verdictText(d), decidedBy: deciderJson(d.by), chains: d.chains.map(deciderJson) };
}

export function packetJson(p: Packet): Json {
  const addr = (v: bigint) => formatAddress(p.family, v);
  return {
    iif: p.iif,
    family: p.family === 4 ? "ipv4" : "ipv6",
    src: addr(p.src),
    dst: addr(p.dst),
    protocol: protocolLabel(p.protocol),
    dport: p.dport ?? null,
    icmpType: p.icmpType ?? null,
    icmpChecksum: p.icmpChecksum ?? null,
    ctState: p.ctState,
    origDst: p.origDst === undefined ? null : addr(p.origDst),
    origDport: p.origDport ?? null,
    forwarded: p.forwarded ?? false,
  };
}

/** Every evaluation as JSON has `verdict` (accept | drop | depends) and `text`. */
export function evaluationJson(e: Evaluation): { [key: string]: Json } {
  if (e.verdict !== "depends") return decisionJson(e);
  return {
    verdict: "depends",
    text: verdictText(e),
    on: e.on,
    cases: e.cases.map((c) => ({ values: c.values.map((s) => ({ lo: s.lo, hi: s.hi })), ...decisionJson(c.decision) })),
  };
}
