import type { Command } from "commander";
import type { Address } from "../../net/address.js";
import { compileRuleset } from "../../compile/index.js";
import { renderJson } from "../../compile/nft-json.js";
import { renderText } from "../../compile/nft-text.js";
import type { ProfileName } from "../../compile/profiles.js";
import { DEFAULT_TABLE, type LayoutName } from "../../compile/ruleset.js";
import { loadInput } from "../load-input.js";
import { choice, collectAddress, parseLayout, parseProfile, parseTableName } from "../options.js";

interface RenderOptions {
  profile: ProfileName;
  layout: LayoutName;
  format: "nft" | "json";
  nodeAddress?: Address[];
  noNodeAddresses?: boolean;
  table: string;
  strict?: boolean;
  verbose?: boolean;
}

export function registerRender(program: Command): void {
  program
    .command("render")
    .description("compile firewall documents and print the nftables ruleset")
    .argument("<input...>", "YAML files, directories or - for stdin")
    .option("--profile <profile>", "talos (Talos v1.14) or talos-1.7 (the documented v1.7 output)", parseProfile, "talos")
    .option(
      "--layout <layout>",
      "kernel layout: per-rule (one rule per document, the listing Talos prints; default) or port-map (what apply uses by default)",
      parseLayout,
      "per-rule",
    )
    .option("--format <format>", "nft (listing form, for nft -f) or json (the apply transaction, for nft -j -f)", choice(["nft", "json"] as const), "nft")
    .option("--node-address <ip>", "a node address for the prerouting chain (repeatable; talos profile)", collectAddress)
    .option("--table <name>", "table name (family inet)", parseTableName, DEFAULT_TABLE)
    .option("--strict", "treat warnings as errors")
    .option("-v, --verbose", "also print notes")
    .addHelpText(
      "after",
      `
Without --node-address there is no prerouting chain (node addresses are unknown offline).
The nft format prints the table as 'nft list table' shows it; it loads with 'nft -f' into a
namespace that does not have the table yet. The json format is the transaction 'apply' sends:
it replaces the table atomically and loads with 'nft -j -f' anywhere.

Examples:
  ingressfw render controlplane.yaml
  ingressfw render --profile talos-1.7 examples/learn-more/block.yaml
  ingressfw render --node-address 10.3.4.5 --format json rules.yaml | nft -j -f -`,
    )
    .action((inputs: string[], opts: RenderOptions) => {
      const { config } = loadInput(inputs, opts);
      const rs = compileRuleset(config, { profile: opts.profile, layout: opts.layout, table: opts.table, nodeAddresses: opts.nodeAddress ?? null });
      process.stdout.write(opts.format === "json" ? JSON.stringify(renderJson(rs)) + "\n" : renderText(rs));
    });
}
