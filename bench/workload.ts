// One measured case: the bench's documents for (N, family, pattern) decoded and validated by the real
// loader, compiled by the real compiler for a layout, and the variant the timed runs load.
import { formatDiagnostic } from "../src/config/diagnostics.js";
import { loadConfig } from "../src/config/load.js";
import type { FirewallConfig } from "../src/config/model.js";
import { compileRuleset } from "../src/compile/index.js";
import type { LayoutName, Ruleset } from "../src/compile/ruleset.js";
import type { Family } from "../src/net/address.js";
import { benchDocuments, benchRules, type BenchRule, type Pattern } from "./configs.js";

export interface Workload {
  readonly layout: LayoutName;
  readonly n: number;
  readonly family: Family;
  readonly pattern: Pattern;
  readonly rules: readonly BenchRule[];
  /** The ruleset `apply` would load (block mode: base chain policy drop). */
  readonly ruleset: Ruleset;
  /**
   * The same ruleset with every base chain's policy `accept`, what the timed runs measure: the packet
   * walks exactly the same rules, and whatever the verdict, it ends in the same sink as on the
   * reference (performance.md, "Method").
   */
  readonly timing: Ruleset;
}

export function benchFileName(n: number, family: Family, pattern: Pattern): string {
  return `bench-ipv${family}-n${n}-${pattern}.yaml`;
}

/** Decode and validate the bench's documents; any error is a bug in the generator. */
export function loadBenchConfig(n: number, family: Family, pattern: Pattern): FirewallConfig {
  return configOf(benchDocuments(n, family, pattern), benchFileName(n, family, pattern));
}

/** Decode and validate generated documents; any error is a bug in the generator. */
export function configOf(text: string, file = "bench.yaml"): FirewallConfig {
  const { config, diagnostics } = loadConfig([{ file, text }]);
  const errors = diagnostics.filter((d) => d.severity === "error");
  if (errors.length > 0) throw new Error(`the bench generated an invalid configuration: ${formatDiagnostic(errors[0]!)}`);
  return config;
}

export function withPolicyAccept(rs: Ruleset): Ruleset {
  return { ...rs, chains: rs.chains.map((c) => ({ ...c, base: { ...c.base, policy: "accept" as const } })) };
}

/** Node addresses are not given: the ruleset has the input chain only (see the README's Benchmark section). */
export function compileBench(config: FirewallConfig, layout: LayoutName): Ruleset {
  return compileRuleset(config, { layout, nodeAddresses: null });
}

export function buildWorkload(layout: LayoutName, n: number, family: Family, pattern: Pattern, config = loadBenchConfig(n, family, pattern)): Workload {
  const ruleset = compileBench(config, layout);
  return { layout, n, family, pattern, rules: benchRules(n, family, pattern), ruleset, timing: withPolicyAccept(ruleset) };
}

/** Each configuration is decoded once per run (thousands of documents take seconds) and each workload compiled once. */
export class WorkloadCache {
  private readonly configs = new Map<string, FirewallConfig>();
  private readonly workloads = new Map<string, Workload>();

  config(n: number, family: Family, pattern: Pattern): FirewallConfig {
    const key = `${n} ${family} ${pattern}`;
    let c = this.configs.get(key);
    if (!c) {
      c = loadBenchConfig(n, family, pattern);
      this.configs.set(key, c);
    }
    return c;
  }

  workload(layout: LayoutName, n: number, family: Family, pattern: Pattern): Workload {
    const key = `${layout} ${n} ${family} ${pattern}`;
    let w = this.workloads.get(key);
    if (!w) {
      w = buildWorkload(layout, n, family, pattern, this.config(n, family, pattern));
      this.workloads.set(key, w);
    }
    return w;
  }
}
