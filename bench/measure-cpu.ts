// User-space costs, no kernel involved: decoding the documents, compile time (compileRuleset), the
// apply transaction's rendering, and evaluator decisions per second.
import { performance } from "node:perf_hooks";
import { renderJson } from "../src/compile/nft-json.js";
import type { LayoutName } from "../src/compile/ruleset.js";
import { evaluate } from "../src/evaluate/evaluate.js";
import type { Family } from "../src/net/address.js";
import { benchPacket, type Pattern } from "./configs.js";
import { ratePerSecond, spread, type Spread } from "./stats.js";
import { benchEvaluatorPacket } from "./verify.js";
import { compileBench, loadBenchConfig, type WorkloadCache } from "./workload.js";

const MAX_REPS = 50;
const MIN_REPS = 3;

/**
 * Times of repeated calls after one warm-up call (JIT, first-call caches): until `budgetMs` is spent,
 * at least MIN_REPS times unless a call is itself slow, and never more than MAX_REPS.
 */
export function timeRepeatedly(fn: () => void, budgetMs: number): number[] {
  fn();
  const samples: number[] = [];
  let total = 0;
  while (samples.length < MAX_REPS && (total < budgetMs || (samples.length < MIN_REPS && total < 5 * budgetMs))) {
    const t0 = performance.now();
    fn();
    const ms = performance.now() - t0;
    samples.push(ms);
    total += ms;
  }
  return samples;
}

export interface ConfigLoadMeasurement {
  readonly n: number;
  readonly family: Family;
  /** YAML decoding and Talos validation of the N + 1 documents (loadConfig). */
  readonly ms: Spread;
}

export function measureConfigLoad(n: number, family: Family, budgetMs: number): ConfigLoadMeasurement {
  return { n, family, ms: spread(timeRepeatedly(() => loadBenchConfig(n, family, "miss"), budgetMs)) };
}

export interface CompileMeasurement {
  readonly layout: LayoutName;
  readonly n: number;
  readonly family: Family;
  readonly compileMs: Spread;
  /** The apply transaction (renderJson). */
  readonly renderJsonMs: Spread;
}

export function measureCompile(cache: WorkloadCache, layout: LayoutName, n: number, family: Family, budgetMs: number): CompileMeasurement {
  const config = cache.config(n, family, "miss");
  const ruleset = cache.workload(layout, n, family, "miss").ruleset;
  return {
    layout,
    n,
    family,
    compileMs: spread(timeRepeatedly(() => compileBench(config, layout), budgetMs)),
    renderJsonMs: spread(timeRepeatedly(() => renderJson(ruleset), budgetMs)),
  };
}

export interface EvaluatorMeasurement {
  readonly layout: LayoutName;
  readonly n: number;
  readonly family: Family;
  readonly pattern: Pattern;
  /** The first decision on a ruleset prepares it (cached per ruleset); not included in the rate. */
  readonly prepareMs: number;
  readonly decisionsPerSecond: number;
}

/** Decisions on the workload's bench packet in five chunks of about budgetMs / 5; the rate is the median chunk's. */
export function measureEvaluator(
  cache: WorkloadCache,
  layout: LayoutName,
  n: number,
  family: Family,
  pattern: Pattern,
  budgetMs: number,
): EvaluatorMeasurement {
  // A fresh compilation, so that the first decision below really prepares it.
  const ruleset = compileBench(cache.config(n, family, pattern), layout);
  const packet = benchEvaluatorPacket(family, benchPacket(n, family, pattern));
  const t0 = performance.now();
  evaluate(ruleset, packet);
  const prepareMs = performance.now() - t0;
  const chunkMs = budgetMs / 5;
  let perChunk = 1;
  const samples: { count: number; ms: number }[] = [];
  const started = performance.now();
  // Double the chunk until it takes chunkMs, then keep five chunks; bounded by count and time.
  while (samples.length < 5 && performance.now() - started < 10 * budgetMs) {
    const c0 = performance.now();
    for (let i = 0; i < perChunk; i++) evaluate(ruleset, packet);
    const ms = performance.now() - c0;
    if (ms < chunkMs && perChunk < 1e7) perChunk *= 2;
    else samples.push({ count: perChunk, ms });
  }
  if (samples.length === 0) throw new Error(`evaluator: no complete chunk within ${10 * budgetMs} ms`);
  return { layout, n, family, pattern, prepareMs, decisionsPerSecond: ratePerSecond(samples) };
}
