// The firewall IR (§5.1): chains of rules with typed matches, before any kernel layout is chosen.
// A layout (per-rule, and later set/map based ones) turns an IrTable into a Ruleset.
import type { Prefix } from "../net/address.js";
import type { SourcePos } from "../config/diagnostics.js";

export type CtState = "new" | "established" | "related" | "invalid";
export type Verdict = "accept" | "drop";
export type Hook = "input" | "prerouting";

export interface PortSpan {
  readonly lo: number;
  readonly hi: number;
}

export interface AddrMatch {
  readonly include: readonly Prefix[];
  readonly exclude: readonly Prefix[];
  readonly invert: boolean;
}

export interface L4Match {
  readonly protocol: number;
  /** Destination port ranges sorted by lo (merged only when set elements are built, §5.9). */
  readonly dports?: readonly PortSpan[];
  readonly icmpTypes?: readonly number[];
}

/** Where a rule comes from: a user document, or one of the fixed rules Talos adds. */
export type Origin = { readonly kind: "rule"; readonly name: string; readonly pos: SourcePos } | { readonly kind: "builtin"; readonly id: BuiltinId };

export type BuiltinId =
  | "trusted-interfaces"
  | "conntrack-established"
  | "conntrack-invalid"
  | "icmp-type-drop"
  | "icmp-limit"
  | "icmpv6-limit"
  | "host-dns-udp"
  | "host-dns-tcp"
  | "pod-service"
  | "not-for-node"
  | "new-tcp-drop"
  | "new-udp-drop"
  | "policy-drop-log"
  // Kernel rules of the port-map layout that route packets to the documents' chains; they decide nothing.
  | "port-dispatch"
  | "source-dispatch";

/** IngressLogConfig: packets this drop discards are logged first, to an NFLOG group, under the table's shared limit. */
export interface DropLog {
  /** `ingressfw drop <document or policy>: ` (at most 127 bytes, nft's limit). */
  readonly prefix: string;
  readonly group: number;
}

/** The one rate limit all log rules of a table share (a named nftables limit object). */
export interface LogLimit {
  readonly name: string;
  readonly rate: number;
  readonly per: "second" | "minute" | "hour";
  readonly burst: number;
}

export interface IrRule {
  readonly iifname?: { readonly names: readonly string[]; readonly negate: boolean };
  readonly ctState?: readonly CtState[];
  readonly l4?: L4Match;
  readonly src?: AddrMatch;
  readonly dst?: AddrMatch;
  /** Packets per second; burst null means none emitted. */
  readonly limit?: { readonly rate: number; readonly burst: number | null };
  readonly counter: boolean;
  readonly verdict: Verdict;
  readonly origin: Origin;
  /** Only on drop rules, only with IngressLogConfig: a log rule with the same matches goes first. */
  readonly log?: DropLog;
}

export interface IrChain {
  readonly name: string;
  readonly hook: Hook;
  readonly priority: number;
  readonly policy: Verdict;
  readonly rules: readonly IrRule[];
  /** A drop policy whose packets are logged (a log rule ends the chain). */
  readonly policyLog?: DropLog;
}

export interface IrTable {
  readonly chains: readonly IrChain[];
  /** Present exactly when some rule or policy logs. */
  readonly logLimit?: LogLimit;
}

export function originLabel(o: Origin): string {
  return o.kind === "rule" ? `NetworkRuleConfig/${o.name}` : o.id;
}
