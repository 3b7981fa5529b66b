// The kernel-level ruleset: what is loaded into nftables, independent of its text/JSON spelling.
// Layouts produce it; renderers print it; the evaluator interprets it.
import type { Family } from "../net/address.js";
import type { IntervalSet } from "../net/interval.js";
import type { CtState, Hook, LogLimit, Origin, Verdict } from "./ir.js";
import type { ProfileName } from "./profiles.js";

export type Expr =
  | { readonly type: "iifname"; readonly op: "==" | "!="; readonly names: readonly string[] }
  | { readonly type: "ctState"; readonly states: readonly CtState[] }
  | { readonly type: "l4proto"; readonly protocol: number }
  | { readonly type: "nfproto"; readonly family: Family }
  /**
   * Address membership in an anonymous set, or with `bare` (one interval) a plain comparison that creates
   * no set in the kernel: `ip saddr 10.0.0.0/25`, `ip saddr 10.0.0.5-10.0.0.9`.
   */
  | {
      readonly type: "addr";
      readonly field: "saddr" | "daddr";
      readonly family: Family;
      readonly op: "==" | "!=";
      readonly set: IntervalSet;
      readonly bare?: boolean;
    }
  | { readonly type: "dport"; readonly set: IntervalSet }
  | { readonly type: "icmpType"; readonly types: readonly number[] }
  | { readonly type: "limit"; readonly rate: number; readonly burst: number | null }
  | { readonly type: "counter" }
  /** A named limit object of the table (`limit name "…"`): matches while its shared bucket has tokens. */
  | { readonly type: "limitRef"; readonly name: string }
  /** `log prefix "…" group N`: sends the packet to an NFLOG group; no verdict effect. */
  | { readonly type: "log"; readonly prefix: string; readonly group: number }
  | { readonly type: "verdict"; readonly verdict: Verdict }
  /** `ip saddr @c0_v4`: membership in a named set of the table (the set's family implies `meta nfproto`). */
  | { readonly type: "setLookup"; readonly field: "saddr" | "daddr"; readonly family: Family; readonly set: string }
  /** `th dport vmap @p6_dports`, `ip saddr vmap @o0_v4`: the matching element's jump; no element, no match. Ends the rule. */
  | { readonly type: "vmap"; readonly key: VmapKey; readonly map: string }
  /** `jump r0`: runs a regular chain; when it falls off its end (or returns) the rule's chain goes on. */
  | { readonly type: "jump"; readonly chain: string }
  /** `return`: leaves a regular chain, back to the rule after the jump. */
  | { readonly type: "return" };

/** What a verdict map is looked up with: transport bytes 2..3 (`th dport`) or a family's source address. */
export type VmapKey = { readonly field: "dport" } | { readonly field: "saddr"; readonly family: Family };

export interface KernelRule {
  readonly exprs: readonly Expr[];
  readonly origin: Origin;
}

export interface BaseChainSpec {
  readonly hook: Hook;
  readonly priority: number;
  readonly policy: Verdict;
}

export interface KernelChain {
  readonly name: string;
  readonly base: BaseChainSpec;
  readonly rules: readonly KernelRule[];
}

/** A regular chain: no hook and no policy, entered only by a jump (a rule's or a verdict map element's). */
export interface RegularChain {
  readonly name: string;
  readonly rules: readonly KernelRule[];
}

export type AddrType = "ipv4_addr" | "ipv6_addr";

/** A named interval set of addresses; never empty, elements disjoint (the kernel rejects overlaps). */
export interface NamedSet {
  readonly name: string;
  readonly type: AddrType;
  readonly elements: IntervalSet;
}

/** One element of a verdict map: keys lo..hi jump to a regular chain. */
export interface MapElement {
  readonly lo: bigint;
  readonly hi: bigint;
  readonly jump: string;
}

/** A named interval verdict map (`type inet_service : verdict; flags interval`); elements sorted and disjoint. */
export interface VerdictMap {
  readonly name: string;
  readonly type: "inet_service" | AddrType;
  readonly elements: readonly MapElement[];
}

export const ADDR_TYPE: Record<Family, AddrType> = { 4: "ipv4_addr", 6: "ipv6_addr" };

export type LayoutName = "per-rule" | "port-map";
export const LAYOUT_NAMES: readonly LayoutName[] = ["per-rule", "port-map"];

export interface Ruleset {
  readonly family: "inet";
  readonly table: string;
  readonly profile: ProfileName;
  readonly layout: LayoutName;
  readonly chains: readonly KernelChain[];
  /** Named limit objects (drop logging); absent when there are none. */
  readonly limits?: readonly LogLimit[];
  /** Layouts with jumps (port-map): regular chains, named sets and verdict maps; absent when there are none. */
  readonly regularChains?: readonly RegularChain[];
  readonly sets?: readonly NamedSet[];
  readonly maps?: readonly VerdictMap[];
}

export const DEFAULT_TABLE = "talos";
