// compileRuleset: validated model → kernel ruleset for a profile and layout.
import type { Address } from "../net/address.js";
import type { FirewallConfig } from "../config/model.js";
import { buildIr } from "./build-ir.js";
import { layoutPerRule } from "./layouts/per-rule.js";
import { layoutPortMap } from "./layouts/port-map.js";
import { PROFILES, type ProfileName } from "./profiles.js";
import { DEFAULT_TABLE, type LayoutName, type Ruleset } from "./ruleset.js";

export interface CompileOptions {
  readonly profile?: ProfileName;
  readonly layout?: LayoutName;
  readonly table?: string;
  readonly nodeAddresses?: readonly Address[] | null;
}

export function compileRuleset(cfg: FirewallConfig, opts: CompileOptions = {}): Ruleset {
  const profile = PROFILES[opts.profile ?? "talos"];
  const ir = buildIr(cfg, { profile, nodeAddresses: opts.nodeAddresses ?? null });
  const table = opts.table ?? DEFAULT_TABLE;
  switch (opts.layout ?? "per-rule") {
    case "per-rule":
      return layoutPerRule(ir, table, profile.name);
    case "port-map":
      return layoutPortMap(ir, table, profile.name);
  }
}
