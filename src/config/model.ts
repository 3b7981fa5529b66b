// The validated firewall model: what the documents say, with source positions for every value
// that a diagnostic or an evaluator explanation may point at.
import type { Prefix } from "../net/address.js";
import type { SourcePos } from "./diagnostics.js";

export type DefaultAction = "accept" | "block";

/** Compatibility profile (§2); compilation and some lints depend on it. */
export type ProfileName = "talos" | "talos-1.7";

/** Layer-4 protocol numbers Talos accepts; 0 when `protocol` is absent (§3.7). */
export type ProtocolNumber = 0 | 1 | 6 | 17 | 58;

export const PROTOCOL_NAMES: Record<string, ProtocolNumber> = { tcp: 6, udp: 17, icmp: 1, icmpv6: 58 };

/** A destination port range as written (lo may exceed hi until validation). */
export interface PortRange {
  readonly lo: number;
  readonly hi: number;
  /** The source text of the element, e.g. `0x50`, `"80-90"`. */
  readonly raw: string;
  readonly pos: SourcePos;
}

export interface IngressEntry {
  /** null: the zero prefix (absent, null or empty). */
  readonly subnet: Prefix | null;
  readonly except: Prefix | null;
  readonly pos: SourcePos;
  readonly subnetPos: SourcePos;
  readonly exceptPos: SourcePos | null;
}

export interface RuleConfig {
  readonly name: string;
  readonly ports: readonly PortRange[];
  readonly protocol: ProtocolNumber;
  /** false when `protocol` was absent or null (lint W002). */
  readonly protocolSet: boolean;
  readonly ingress: readonly IngressEntry[];
  /** Position of the document (its first key). */
  readonly pos: SourcePos;
  readonly namePos: SourcePos;
  readonly portsPos: SourcePos;
  readonly protocolPos: SourcePos;
  readonly ingressPos: SourcePos;
}

export interface DefaultActionConfig {
  readonly action: DefaultAction;
  readonly pos: SourcePos;
  readonly valuePos: SourcePos;
}

/** The three values read from the v1alpha1 main document (§3.11). */
export interface ClusterInfo {
  readonly podSubnets: readonly Prefix[];
  readonly serviceSubnets: readonly Prefix[];
  readonly forwardKubeDNSToHost: boolean;
  /** The main document has a `cluster.network` key (profile `talos`, P8). */
  readonly hasClusterNetwork: boolean;
  readonly pos: SourcePos;
}

export const LOG_RATE_UNITS = ["second", "minute", "hour"] as const;
export type LogRateUnit = (typeof LOG_RATE_UNITS)[number];

/** ingressfw's IngressLogConfig document: rate-limited logging of dropped packets (NFLOG group). */
export interface LogConfig {
  /** Log packets the firewall drops; false emits nothing. */
  readonly drops: boolean;
  /** One limit shared by every log rule of the table. */
  readonly rate: { readonly count: number; readonly per: LogRateUnit };
  readonly burst: number;
  /** The NFLOG group the log statements send to (`ingressfw logs` reads it). */
  readonly group: number;
  readonly pos: SourcePos;
}

export interface IgnoredDocument {
  readonly kind: string;
  readonly pos: SourcePos;
}

export interface FirewallConfig {
  readonly defaultAction: DefaultActionConfig | null;
  readonly rules: readonly RuleConfig[];
  readonly main: ClusterInfo | null;
  readonly ignored: readonly IgnoredDocument[];
  /** The IngressLogConfig document, if any (ingressfw's extension; null for Talos-only inputs). */
  readonly logging: LogConfig | null;
}

export const DEFAULT_POD_SUBNET = "10.244.0.0/16";
export const DEFAULT_SERVICE_SUBNET = "10.96.0.0/12";

export function effectiveDefaultAction(cfg: FirewallConfig): DefaultAction {
  return cfg.defaultAction?.action ?? "accept";
}
