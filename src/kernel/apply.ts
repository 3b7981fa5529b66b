// CONTRACT (to be implemented by the kernel work): apply a compiled ruleset to a target as one
// nftables transaction, verify by reading it back, persist state. Signatures are fixed so the demo
// and later stages can build on them.
import type { Ruleset } from "../compile/ruleset.js";
import type { Target } from "./exec.js";

export interface ApplyResult {
  /** false when the live table already equalled the ruleset (nothing sent; counters kept). */
  readonly changed: boolean;
  readonly durationMs: number;
}

export async function applyRuleset(_target: Target, _ruleset: Ruleset): Promise<ApplyResult> {
  throw new Error("not implemented");
}

export async function removeTable(_target: Target, _table: string): Promise<boolean> {
  throw new Error("not implemented");
}
