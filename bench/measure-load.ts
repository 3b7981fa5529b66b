// Load cost of a ruleset in the firewall namespace, starting from no table: the time of the real
// applyRuleset (compare, one transaction, read-back verification), the time of its transaction alone
// (`nft -j -f`), and the kernel memory the loaded table holds.
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { renderJson } from "../src/compile/nft-json.js";
import type { LayoutName, Ruleset } from "../src/compile/ruleset.js";
import { applyRuleset, removeTable, rulesetTable } from "../src/kernel/apply.js";
import { nft, type Target } from "../src/kernel/exec.js";
import type { Family } from "../src/net/address.js";
import { spread, type Spread } from "./stats.js";
import type { Workload } from "./workload.js";

/**
 * Kernel memory nftables objects can occupy: unreclaimable slab (kmalloc), vmalloc (large
 * kvmalloc'd arrays and set backends) and per-CPU allocations (rule counters), from /proc/meminfo.
 * Reclaimable slab is left out: it moves with file-system caches, not with the ruleset.
 */
export function kernelMemoryKiB(meminfo: string): number {
  const field = (name: string): number => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB$`, "m").exec(meminfo);
    if (!m) throw new Error(`no ${name} in /proc/meminfo`);
    return Number(m[1]);
  };
  return field("SUnreclaim") + field("VmallocUsed") + field("Percpu");
}

const SETTLE_STEP_MS = 100;
const SETTLE_MAX_MS = 3000;
const SETTLE_TOLERANCE_KIB = 32;

/** Kernel memory once it stops moving (freeing after a table deletion is deferred to a work queue). */
async function settledMemoryKiB(): Promise<number> {
  let last = kernelMemoryKiB(readFileSync("/proc/meminfo", "utf8"));
  for (let waited = 0; waited < SETTLE_MAX_MS; waited += SETTLE_STEP_MS) {
    await sleep(SETTLE_STEP_MS);
    const now = kernelMemoryKiB(readFileSync("/proc/meminfo", "utf8"));
    if (Math.abs(now - last) <= SETTLE_TOLERANCE_KIB) return now;
    last = now;
  }
  return last;
}

export interface LoadSample {
  readonly applyMs: number;
  readonly transactionMs: number;
  /** Growth when the table was loaded and shrink when it was deleted; their mean is the estimate. */
  readonly loadedKiB: number;
  readonly freedKiB: number;
}

export interface LoadMeasurement {
  readonly layout: LayoutName;
  readonly n: number;
  readonly family: Family;
  /** distinct: every document its own two subnets (the traffic workloads'); shared: SHARED_CLASS_SUBNETS-subnet classes shared by the documents. */
  readonly classes: "distinct" | "shared";
  readonly kernelRules: number;
  readonly applyMs: Spread;
  readonly transactionMs: Spread;
  /** Mean of growth on load and shrink on delete, which cancels memory drift that is linear in time. */
  readonly kernelMemoryKiB: Spread;
  readonly samples: readonly LoadSample[];
}

async function loadOnce(w: Workload, target: Target): Promise<LoadSample> {
  await removeTable(target, w.ruleset.table);
  const before = await settledMemoryKiB();
  const t0 = performance.now();
  await applyRuleset(target, w.ruleset);
  const applyMs = performance.now() - t0;
  const loaded = await settledMemoryKiB();
  await removeTable(target, w.ruleset.table);
  const after = await settledMemoryKiB();
  const transaction = JSON.stringify(renderJson(w.ruleset));
  const t1 = performance.now();
  await nft(target, ["-j", "-f", "-"], transaction);
  const transactionMs = performance.now() - t1;
  await removeTable(target, w.ruleset.table);
  return { applyMs, transactionMs, loadedKiB: loaded - before, freedKiB: loaded - after };
}

export async function measureLoad(w: Workload, target: Target, reps: number, classes: LoadMeasurement["classes"] = "distinct"): Promise<LoadMeasurement> {
  const samples: LoadSample[] = [];
  for (let i = 0; i < reps; i++) samples.push(await loadOnce(w, target));
  return {
    layout: w.layout,
    n: w.n,
    family: w.family,
    classes,
    kernelRules: w.ruleset.chains.reduce((sum, c) => sum + c.rules.length, 0),
    applyMs: spread(samples.map((s) => s.applyMs)),
    transactionMs: spread(samples.map((s) => s.transactionMs)),
    kernelMemoryKiB: spread(samples.map((s) => (s.loadedKiB + s.freedKiB) / 2)),
    samples,
  };
}

export interface UpdateMeasurement {
  readonly layout: LayoutName;
  readonly n: number;
  readonly family: Family;
  /** Commands in the update's transaction (one document's sources changed); null when applyRuleset rebuilt the table instead. */
  readonly commands: number | null;
  /** applyRuleset from the table it knows it applied (the daemon's path): update only, no listing before or after. */
  readonly knownMs: Spread;
  /** applyRuleset as the CLI runs it: list the table, update, read the whole table back. */
  readonly listedMs: Spread;
}

/**
 * The cost of changing one document of N already loaded, back and forth: through both paths of
 * applyRuleset, which updates in place (counters of the other documents kept) unless rebuilding is cheaper.
 */
export async function measureUpdate(w: Workload, edited: Ruleset, target: Target, reps: number): Promise<UpdateMeasurement> {
  await removeTable(target, w.ruleset.table);
  await applyRuleset(target, w.ruleset);
  const tables = [rulesetTable(w.ruleset), rulesetTable(edited)] as const;
  const rulesets = [w.ruleset, edited] as const;
  const known: number[] = [];
  const listed: number[] = [];
  let commands: number | null = null;
  let at = 0;
  const step = async (useKnown: boolean) => {
    const to = 1 - at;
    const r = await applyRuleset(target, rulesets[to]!, useKnown ? { known: tables[at] } : {});
    commands = r.update?.commands ?? null;
    at = to;
    return r.durationMs;
  };
  for (let i = 0; i < reps; i++) {
    known.push(await step(true), await step(true));
    listed.push(await step(false), await step(false));
  }
  await removeTable(target, w.ruleset.table);
  return { layout: w.layout, n: w.n, family: w.family, commands, knownMs: spread(known), listedMs: spread(listed) };
}
