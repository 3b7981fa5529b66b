// Drop events: one NFLOG record from ingressfw's log rules, as a structured event — time, interface,
// addresses, protocol, ports and the deciding document (from the prefix, resolved through the notes of
// the applied ruleset) — plus their text and JSON forms.
import type { SourcePos } from "../config/diagnostics.js";
import { parseDropPrefix, POLICY_LABEL } from "../compile/drop-log.js";
import { parsePacketHeaders, type NflogRecord } from "./nflog-packet.js";

export interface DropEvent {
  /** ISO 8601, UTC. */
  readonly time: string;
  /** The netfilter hook the drop happened in. */
  readonly hook: string | null;
  readonly iface: string | null;
  readonly family: "ipv4" | "ipv6" | null;
  readonly src: string | null;
  readonly dst: string | null;
  readonly protocol: string;
  readonly sport: number | null;
  readonly dport: number | null;
  readonly icmpType: number | null;
  /** The label in the log prefix: `NetworkRuleConfig/<name>` (possibly shortened) or `policy`. */
  readonly rule: string;
  /** The deciding document: `NetworkRuleConfig/<name>`, or `NetworkDefaultActionConfig` for the policy. */
  readonly document: string;
  readonly pos: SourcePos | null;
}

export interface RuleNoteLike {
  readonly text: string;
  readonly origin: string;
  readonly pos: SourcePos | null;
}

export interface Attribution {
  readonly document: string;
  readonly pos: SourcePos | null;
}

const HOOKS: Record<number, string> = { 0: "prerouting", 1: "input", 2: "forward", 3: "output", 4: "postrouting" };
const PROTOCOLS: Record<number, string> = { 1: "icmp", 6: "tcp", 17: "udp", 58: "icmpv6" };
const LOG_PREFIX_IN_TEXT = /\blog prefix ("(?:[^"\\]|\\.)*")/;
export const POLICY_DOCUMENT = "NetworkDefaultActionConfig";

/** Label → document, from the rule notes of an applied ruleset (the log rules carry their drop's origin). */
export function attributionsFromNotes(chains: readonly { readonly rules: readonly RuleNoteLike[] }[]): Map<string, Attribution> {
  const out = new Map<string, Attribution>();
  for (const c of chains) {
    for (const n of c.rules) {
      const m = LOG_PREFIX_IN_TEXT.exec(n.text);
      if (!m) continue;
      const label = parseDropPrefix(JSON.parse(m[1]!) as string);
      if (label === null || label === POLICY_LABEL || out.has(label)) continue;
      out.set(label, { document: n.origin, pos: n.pos });
    }
  }
  return out;
}

/** The event for a record of one of ingressfw's log rules; null for any other prefix in the group. */
export function dropEventOf(r: NflogRecord, ifnames: ReadonlyMap<number, string>, attributions: ReadonlyMap<string, Attribution>): DropEvent | null {
  const label = r.prefix === null ? null : parseDropPrefix(r.prefix);
  if (label === null) return null;
  const h = parsePacketHeaders(r.payload);
  const known = attributions.get(label);
  const document = label === POLICY_LABEL ? POLICY_DOCUMENT : (known?.document ?? label);
  return {
    time: new Date(r.timeMs).toISOString(),
    hook: r.hook === null ? null : (HOOKS[r.hook] ?? String(r.hook)),
    iface: r.inIfindex === null ? null : (ifnames.get(r.inIfindex) ?? `if${r.inIfindex}`),
    family: h ? (h.family === 4 ? "ipv4" : "ipv6") : null,
    src: h?.src ?? null,
    dst: h?.dst ?? null,
    protocol: h ? (PROTOCOLS[h.protocol] ?? String(h.protocol)) : "unknown",
    sport: h?.sport ?? null,
    dport: h?.dport ?? null,
    icmpType: h?.icmpType ?? null,
    rule: label,
    document,
    pos: known?.pos ?? null,
  };
}

const hostPort = (addr: string | null, port: number | null, family: DropEvent["family"]) => {
  const a = addr ?? "?";
  if (port === null) return a;
  return family === "ipv6" ? `[${a}]:${port}` : `${a}:${port}`;
};

/** `2026-01-02T03:04:05.000Z drop tcp 10.0.0.2:51000 -> 10.0.0.1:22 on eth0 (input) by NetworkRuleConfig/ssh (f.yaml:5:1)` */
export function dropEventText(e: DropEvent): string {
  const icmp = e.icmpType !== null ? ` type ${e.icmpType}` : "";
  const where = e.pos ? ` (${e.pos.file}:${e.pos.line}:${e.pos.col})` : "";
  const by = e.rule === POLICY_LABEL ? `${POLICY_DOCUMENT} (block: no rule admits it)` : `${e.document}${where}`;
  return `${e.time} drop ${e.protocol} ${hostPort(e.src, e.sport, e.family)} -> ${hostPort(e.dst, e.dport, e.family)}${icmp} on ${e.iface ?? "?"} (${e.hook ?? "?"}) by ${by}`;
}
