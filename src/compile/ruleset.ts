// The kernel-level ruleset: what is loaded into nftables, independent of its text/JSON spelling.
// Layouts produce it; renderers print it; the evaluator interprets it.
import type { Family } from "../net/address.js";
import type { IntervalSet } from "../net/interval.js";
import type { CtState, Hook, Origin, Verdict } from "./ir.js";
import type { ProfileName } from "./profiles.js";

export type Expr =
  | { readonly type: "iifname"; readonly op: "==" | "!="; readonly names: readonly string[] }
  | { readonly type: "ctState"; readonly states: readonly CtState[] }
  | { readonly type: "l4proto"; readonly protocol: number }
  | { readonly type: "nfproto"; readonly family: Family }
  | { readonly type: "addr"; readonly field: "saddr" | "daddr"; readonly family: Family; readonly op: "==" | "!="; readonly set: IntervalSet }
  | { readonly type: "dport"; readonly set: IntervalSet }
  | { readonly type: "icmpType"; readonly types: readonly number[] }
  | { readonly type: "limit"; readonly rate: number; readonly burst: number | null }
  | { readonly type: "counter" }
  | { readonly type: "verdict"; readonly verdict: Verdict };

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

export type LayoutName = "per-rule";
export const LAYOUT_NAMES: readonly LayoutName[] = ["per-rule"];

export interface Ruleset {
  readonly family: "inet";
  readonly table: string;
  readonly profile: ProfileName;
  readonly layout: LayoutName;
  readonly chains: readonly KernelChain[];
}

export const DEFAULT_TABLE = "talos";
