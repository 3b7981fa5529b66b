// The `per-rule` layout: one kernel rule (or two, one per family) per IR rule, each with its own
// anonymous sets — the shape Talos builds. Drop logging adds log rules (drop-log.ts).
import type { IrTable } from "../ir.js";
import type { ProfileName } from "../profiles.js";
import type { Ruleset } from "../ruleset.js";
import { withLogRules } from "../drop-log.js";
import { lowerRule } from "../families.js";

export function layoutPerRule(ir: IrTable, table: string, profile: ProfileName): Ruleset {
  return {
    family: "inet",
    table,
    profile,
    layout: "per-rule",
    chains: ir.chains.map((c) => ({
      name: c.name,
      base: { hook: c.hook, priority: c.priority, policy: c.policy },
      rules: withLogRules(c, lowerRule),
    })),
    ...(ir.logLimit ? { limits: [ir.logLimit] } : {}),
  };
}
