// `trace`: the short-lived tracing chain ingressfw adds to its own table, and the reading of
// `nft -a monitor` output into per-packet paths through the table's chains, mapped to documents.
import type { SourcePos } from "../config/diagnostics.js";
import { formatAddress, parsePrefix, prefixRange, type Prefix } from "../net/address.js";

export { TRACE_CHAIN } from "../kernel/nft-listing.js";
/** Before every chain of ingressfw (prerouting -110, input -140) and before conntrack (-200). */
export const TRACE_PRIORITY = -350;

export function traceChainName(pid: number): string {
  return `trace-${pid}`;
}

export interface TraceFilter {
  readonly from?: Prefix;
  readonly port?: number;
}

/** The nft commands that add the tracing chain: only matching packets get `meta nftrace set 1`. */
export function traceChainCommands(table: string, chain: string, f: TraceFilter): string {
  const match: string[] = [];
  if (f.from) match.push(`${f.from.family === 4 ? "ip" : "ip6"} saddr ${formatAddress(f.from.family, prefixRange(f.from).lo)}/${f.from.bits}`);
  if (f.port !== undefined) match.push(`meta l4proto { tcp, udp } th dport ${f.port}`);
  return [
    `add chain inet ${table} ${chain} { type filter hook prerouting priority ${TRACE_PRIORITY}; policy accept; }`,
    `add rule inet ${table} ${chain} ${[...match, "meta nftrace set 1"].join(" ")}`,
    "",
  ].join("\n");
}

export function removeTraceChainCommands(table: string, chain: string): string {
  return `flush chain inet ${table} ${chain}\ndelete chain inet ${table} ${chain}\n`;
}

/** `--from`: a prefix (an address alone is a host prefix). */
export function parseFrom(text: string): Prefix {
  return parsePrefix(text.includes("/") ? text : `${text}/${text.includes(":") ? 128 : 32}`);
}

export type TraceEvent =
  | { readonly id: string; readonly chain: string; readonly kind: "packet"; readonly packet: string }
  | { readonly id: string; readonly chain: string; readonly kind: "rule"; readonly text: string; readonly handle: number | null; readonly verdict: string }
  | { readonly id: string; readonly chain: string; readonly kind: "policy"; readonly verdict: string };

const LINE = /^trace id (\S+) (\S+) (\S+) (\S+) (packet: (.*)|(?:unknown )?rule (.*?)(?: # handle (\d+))? \(verdict ([^)]+)\)|policy (\S+))\s*$/;

/** One `nft -a monitor` line as a trace event of table `family name`; null for anything else. */
export function parseTraceLine(line: string, family: string, table: string): TraceEvent | null {
  const m = LINE.exec(line.trimEnd());
  if (!m || m[2] !== family || m[3] !== table) return null;
  const [id, chain] = [m[1]!, m[4]!];
  if (m[6] !== undefined) return { id, chain, kind: "packet", packet: summarizePacket(m[6]) };
  if (m[10] !== undefined) return { id, chain, kind: "policy", verdict: m[10] };
  return { id, chain, kind: "rule", text: m[7]!.replace(/counter packets \d+ bytes \d+/g, "counter"), handle: m[8] ? Number(m[8]) : null, verdict: m[9]! };
}

/** `tcp 10.0.0.2:41158 -> 10.0.0.1:8080 iif eth0` out of nft's long packet description. */
export function summarizePacket(desc: string): string {
  const field = (re: RegExp) => re.exec(desc)?.[1];
  const iif = field(/\biif "([^"]*)"/);
  const src = field(/\bip6? saddr (\S+)/);
  const dst = field(/\bip6? daddr (\S+)/);
  const proto = field(/\b(?:ip protocol|ip6 nexthdr) (\S+)/);
  const sport = field(/\b(?:tcp|udp) sport (\d+)/);
  const dport = field(/\b(?:tcp|udp) dport (\d+)/);
  const icmpType = field(/\bicmp(?:v6)? type (\S+)/);
  if (!src || !dst) return desc.trim();
  const v6 = desc.includes("ip6 saddr");
  const hp = (a: string, p: string | undefined) => (p === undefined ? a : v6 ? `[${a}]:${p}` : `${a}:${p}`);
  return `${proto ?? "?"} ${hp(src, sport)} -> ${hp(dst, dport)}${icmpType ? ` type ${icmpType}` : ""}${iif ? ` iif ${iif}` : ""}`;
}

export interface RuleAttribution {
  readonly chain: string;
  /** 1-based position in the chain. */
  readonly index: number;
  readonly origin: string | null;
  readonly pos: SourcePos | null;
}

export interface TraceStep {
  readonly chain: string;
  readonly verdict: string;
  /** null: the chain's policy. */
  readonly rule: { readonly text: string; readonly handle: number | null; readonly attribution: RuleAttribution | null } | null;
}

export interface TracedPacket {
  readonly id: string;
  readonly packet: string;
  /** Every rule that matched (log rules: verdict continue) and the verdict of each chain met, in order. */
  readonly steps: readonly TraceStep[];
  /** drop when a chain dropped it; accept when every chain met accepted it; null when no chain of the table decided. */
  readonly verdict: "accept" | "drop" | null;
  /** The step that decided: the drop, or the last chain's accept. */
  readonly decidedBy: TraceStep | null;
}

/** Groups trace events into packets (the tracing chain itself left out), mapping rule handles to documents. */
export class TraceCollector {
  private readonly packets = new Map<string, { packet: string; steps: TraceStep[] }>();

  constructor(
    private readonly ownChain: string,
    private readonly attribution: (handle: number) => RuleAttribution | null,
  ) {}

  add(e: TraceEvent): void {
    if (e.chain === this.ownChain) return;
    const p = this.packets.get(e.id) ?? { packet: "", steps: [] };
    this.packets.set(e.id, p);
    if (e.kind === "packet") p.packet ||= e.packet;
    else if (e.kind === "policy") p.steps.push({ chain: e.chain, verdict: e.verdict, rule: null });
    else {
      const attribution = e.handle === null ? null : this.attribution(e.handle);
      p.steps.push({ chain: e.chain, verdict: e.verdict, rule: { text: e.text, handle: e.handle, attribution } });
    }
  }

  /** Whether the packet's fate is known: something dropped it. */
  dropped(id: string): boolean {
    return this.packets.get(id)?.steps.some((s) => s.verdict === "drop") ?? false;
  }

  ids(): string[] {
    return [...this.packets.keys()];
  }

  take(id: string): TracedPacket | null {
    const p = this.packets.get(id);
    if (!p) return null;
    this.packets.delete(id);
    const decisions = p.steps.filter((s) => s.verdict === "accept" || s.verdict === "drop");
    const drop = decisions.find((s) => s.verdict === "drop");
    const decidedBy = drop ?? decisions[decisions.length - 1] ?? null;
    return { id, packet: p.packet, steps: p.steps, verdict: decidedBy ? (decidedBy.verdict as "accept" | "drop") : null, decidedBy };
  }
}

/** Built-in rules that carry out the default action (block mode) rather than a document's rule. */
const DEFAULT_ACTION_RULES = new Set(["new-tcp-drop", "new-udp-drop", "policy-drop-log"]);

function attributionText(a: RuleAttribution | null): string {
  if (!a) return "not part of the last apply";
  const where = a.pos ? ` (${a.pos.file}:${a.pos.line}:${a.pos.col})` : "";
  const blockMode = a.origin !== null && DEFAULT_ACTION_RULES.has(a.origin) ? " (NetworkDefaultActionConfig: block)" : "";
  return `rule ${a.index} of ${a.chain}, ${a.origin ?? "not part of the last apply"}${where}${blockMode}`;
}

/** The document behind a decision: a rule's document, or the default action for a drop policy. */
export function decidingDocument(step: TraceStep | null): string {
  if (!step) return "no chain of the table decided (accepted)";
  if (step.rule) return attributionText(step.rule.attribution);
  return step.verdict === "drop" ? `policy of chain ${step.chain}: NetworkDefaultActionConfig (block)` : `policy of chain ${step.chain}`;
}

export function tracedPacketText(p: TracedPacket, n: number): string[] {
  const lines = [`packet ${n}: ${p.packet || "(no packet line)"}`];
  for (const s of p.steps) {
    const what = s.rule ? `${s.rule.text}  [${attributionText(s.rule.attribution)}]` : "policy";
    lines.push(`  ${s.chain}: ${s.verdict === "continue" ? "matched (no verdict)" : s.verdict}: ${what}`);
  }
  lines.push(`  verdict: ${p.verdict ?? "accept"} by ${decidingDocument(p.decidedBy)}`);
  return lines;
}
