// What one bench run measures: command-line options → a validated plan. Pure.
import { LAYOUT_NAMES, type LayoutName } from "../src/compile/ruleset.js";
import type { Family } from "../src/net/address.js";
import { MAX_RULES, PATTERNS, type Pattern } from "./configs.js";

export const PARTS = ["compile", "evaluator", "load", "traffic"] as const;
export type Part = (typeof PARTS)[number];
export type ClockChoice = "auto" | "cpu" | "wall";

export interface BenchOptions {
  readonly quick?: boolean;
  readonly layouts?: string;
  readonly sizes?: string;
  readonly families?: string;
  readonly patterns?: string;
  readonly parts?: string;
  readonly pairs?: string;
  readonly seconds?: string;
  readonly loadReps?: string;
  readonly cpu?: string;
  readonly clock?: string;
}

export interface BenchPlan {
  readonly quick: boolean;
  readonly layouts: readonly LayoutName[];
  /** N = 0 is the preamble alone (no rule documents); only the miss pattern is run for it. */
  readonly sizes: readonly number[];
  readonly families: readonly Family[];
  readonly patterns: readonly Pattern[];
  readonly parts: readonly Part[];
  /** ABBA pairs per traffic workload. */
  readonly pairs: number;
  /** Length of one timed run against one namespace. */
  readonly seconds: number;
  readonly loadReps: number;
  /** Time spent on each user-space measurement (compile, evaluator). */
  readonly cpuBudgetMs: number;
  /** CPU the sender and so the receive path run on. */
  readonly cpu: number;
  readonly clock: ClockChoice;
}

export class PlanError extends Error {}

export const DEFAULTS = { sizes: [0, 10, 100, 1000, 5000], pairs: 15, seconds: 0.2, loadReps: 3, cpuBudgetMs: 300 } as const;
/** About one minute: the smallest and a large N, few short pairs, one load repetition. */
export const QUICK = { sizes: [0, 10, 1000], pairs: 3, seconds: 0.05, loadReps: 1, cpuBudgetMs: 100 } as const;

function list(text: string, what: string): string[] {
  const items = text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (items.length === 0) throw new PlanError(`--${what}: empty list`);
  return [...new Set(items)];
}

function oneOf<T extends string>(text: string | undefined, allowed: readonly T[], what: string): readonly T[] {
  if (text === undefined) return allowed;
  return list(text, what).map((item) => {
    if (!(allowed as readonly string[]).includes(item)) throw new PlanError(`--${what}: unknown ${JSON.stringify(item)} (one of ${allowed.join(", ")})`);
    return item as T;
  });
}

function integer(text: string, what: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || n < min || n > max) throw new PlanError(`--${what}: ${JSON.stringify(text)} is not an integer in ${min}..${max}`);
  return n;
}

function families(text: string | undefined): readonly Family[] {
  if (text === undefined) return [4, 6];
  return list(text, "families").map((f) => {
    const bare = f.replace(/^ipv/i, "");
    if (bare !== "4" && bare !== "6") throw new PlanError(`--families: unknown ${JSON.stringify(f)} (4, 6)`);
    return Number(bare) as Family;
  });
}

export function makePlan(o: BenchOptions, cpus: number): BenchPlan {
  const quick = o.quick ?? false;
  const base = quick ? QUICK : DEFAULTS;
  const sizes = o.sizes === undefined ? [...base.sizes] : list(o.sizes, "sizes").map((s) => integer(s, "sizes", 0, MAX_RULES));
  const seconds = o.seconds === undefined ? base.seconds : Number(o.seconds);
  if (!(seconds >= 0.02 && seconds <= 10)) throw new PlanError(`--seconds: ${JSON.stringify(o.seconds)} is not a number of seconds in 0.02..10`);
  const clock = o.clock ?? "auto";
  if (clock !== "auto" && clock !== "cpu" && clock !== "wall") throw new PlanError(`--clock: unknown ${JSON.stringify(clock)} (one of auto, cpu, wall)`);
  return {
    quick,
    layouts: oneOf(o.layouts, LAYOUT_NAMES, "layouts"),
    sizes: [...new Set(sizes)].sort((a, b) => a - b),
    families: families(o.families),
    patterns: oneOf(o.patterns, PATTERNS, "patterns"),
    parts: oneOf(o.parts, PARTS, "parts"),
    pairs: o.pairs === undefined ? base.pairs : integer(o.pairs, "pairs", 1, 1000),
    seconds,
    loadReps: o.loadReps === undefined ? base.loadReps : integer(o.loadReps, "load-reps", 1, 100),
    cpuBudgetMs: base.cpuBudgetMs,
    cpu: o.cpu === undefined ? cpus - 1 : integer(o.cpu, "cpu", 0, cpus - 1),
    clock,
  };
}

/** The patterns run for N rules: with no rules every pattern is the same packet, so only miss. */
export function patternsFor(plan: BenchPlan, n: number): readonly Pattern[] {
  if (n > 0) return plan.patterns;
  return plan.patterns.includes("miss") ? ["miss"] : [];
}

export function needsRoot(plan: BenchPlan): boolean {
  return plan.parts.includes("load") || plan.parts.includes("traffic");
}
