// `npm run bench`: the project's benchmark (not a test). Measures every layout in LAYOUT_NAMES: packet
// rate relative to no firewall, apply time and kernel memory, compile time and evaluator speed, and
// writes bench-results/<time>/results.json and results.md. Progress goes to stderr, the table to stdout.
import { Command, CommanderError } from "commander";
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { LAYOUT_NAMES } from "../src/compile/ruleset.js";
import { benchDocuments, PATTERNS, type DocumentVariant } from "./configs.js";
import { chooseClock, hostInfo } from "./host.js";
import { createLab, deleteLabSync, removeStaleLabs, type Lab } from "./lab.js";
import {
  measureCompile,
  measureConfigLoad,
  measureEvaluator,
  type CompileMeasurement,
  type ConfigLoadMeasurement,
  type EvaluatorMeasurement,
} from "./measure-cpu.js";
import { measureLoad, measureUpdate, type LoadMeasurement, type UpdateMeasurement } from "./measure-load.js";
import { measureTraffic } from "./measure-traffic.js";
import { DEFAULTS, makePlan, needsRoot, PARTS, patternsFor, PlanError, QUICK, type BenchOptions, type BenchPlan } from "./plan.js";
import { progress } from "./progress.js";
import { familyName, memoryText, msText, rateText, renderMarkdown, type BenchResults, type TrafficRow } from "./report.js";
import { buildSender, removeSender, type Sender } from "./sender.js";
import { verifyWithEvaluator, verifyWithKernel, type Verification } from "./verify.js";
import { compileBench, configOf, WorkloadCache } from "./workload.js";

const EXIT_USAGE = 64;
const EXIT_TOOLS = 69;
const EXIT_PERMISSION = 77;

/** What must be removed however the run ends. */
const active: { lab: Lab | null; sender: Sender | null } = { lab: null, sender: null };

function cleanUp(): void {
  deleteLabSync(active.lab);
  active.lab = null;
  removeSender(active.sender);
  active.sender = null;
}

function program(): Command {
  return new Command("bench")
    .description("the ingressfw benchmark: packet rate vs no firewall, apply time, kernel memory, compile time, evaluator speed")
    .option("--quick", `about one minute: N = ${QUICK.sizes.join(",")}, ${QUICK.pairs} pairs of ${QUICK.seconds} s, ${QUICK.loadReps} load repetition`)
    .option("--layouts <list>", `layouts to measure (default: all, now ${LAYOUT_NAMES.join(",")})`)
    .option("--sizes <list>", `rule counts N; 0 = preamble only (default: ${DEFAULTS.sizes.join(",")})`)
    .option("--families <list>", "address families (default: 4,6)")
    .option("--patterns <list>", `traffic patterns (default: ${PATTERNS.join(",")})`)
    .option("--parts <list>", `what to measure (default: ${PARTS.join(",")}; compile,evaluator need no root)`)
    .option("--pairs <n>", `ABBA pairs per traffic workload (default: ${DEFAULTS.pairs})`)
    .option("--seconds <s>", `length of one timed run (default: ${DEFAULTS.seconds})`)
    .option("--load-reps <n>", `repetitions of each load measurement (default: ${DEFAULTS.loadReps})`)
    .option("--cpu <n>", "CPU the sender and the receive path run on (default: the last)")
    .option("--clock <clock>", "auto, cpu (sender thread CPU time) or wall (default: auto = cpu when the kernel charges softirq time to the task)")
    .option("--out <dir>", "results directory (default: bench-results/<time>)")
    .addHelpText(
      "after",
      `
Needs root for load and traffic (it creates and deletes its own namespaces ifw-bench-*; all traffic stays in them).
Installs gcc with apt-get if missing (the packet sender is compiled at run time).

Examples:
  npm run bench -- --quick
  npm run bench -- --layouts per-rule --sizes 10,100 --families 4 --patterns miss,hit
  npm run bench -- --parts compile,evaluator`,
    )
    .exitOverride();
}

function timestamp(d: Date): string {
  return d
    .toISOString()
    .replace(/\.\d+Z$/, "Z")
    .replace(/:/g, "-");
}

function missingTools(): string[] {
  const packages: Record<string, string[]> = { nft: ["nftables"], ip: ["iproute2"], gcc: ["gcc", "libc6-dev"] };
  return Object.entries(packages).flatMap(([cmd, pkgs]) => {
    try {
      execFileSync("sh", ["-c", 'command -v "$1"', "sh", cmd], { stdio: "ignore" });
      return [];
    } catch {
      return pkgs;
    }
  });
}

function installPackages(packages: readonly string[]): void {
  progress(`installing ${packages.join(" ")} (apt-get)`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  execFileSync("apt-get", ["update", "-qq"], { stdio: ["ignore", "ignore", "inherit"], env });
  execFileSync("apt-get", ["install", "-y", "-qq", ...packages], { stdio: ["ignore", "ignore", "inherit"], env });
}

/** An error's message on one line, cut to a readable length (nft errors can quote a whole transaction). */
function brief(e: unknown): string {
  const text = (e instanceof Error ? e.message : String(e)).replace(/\s+/g, " ").trim();
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

interface Collected {
  configLoad: ConfigLoadMeasurement[];
  compile: CompileMeasurement[];
  evaluator: EvaluatorMeasurement[];
  load: LoadMeasurement[];
  update: UpdateMeasurement[];
  traffic: TrafficRow[];
  errors: string[];
}

function measureUserSpace(plan: BenchPlan, cache: WorkloadCache, out: Collected): void {
  const budget = plan.cpuBudgetMs;
  for (const n of plan.sizes) {
    for (const family of plan.families) {
      if (plan.parts.includes("compile")) {
        const c = measureConfigLoad(n, family, budget);
        out.configLoad.push(c);
        progress(`config load N=${n} ${familyName(family)}: ${msText(c.ms.median)} ms`);
      }
      for (const layout of plan.layouts) {
        if (plan.parts.includes("compile")) {
          const c = measureCompile(cache, layout, n, family, budget);
          out.compile.push(c);
          progress(`compile ${layout} N=${n} ${familyName(family)}: ${msText(c.compileMs.median)} ms (render JSON ${msText(c.renderJsonMs.median)} ms)`);
        }
        if (!plan.parts.includes("evaluator")) continue;
        for (const pattern of patternsFor(plan, n)) {
          const e = measureEvaluator(cache, layout, n, family, pattern, budget);
          out.evaluator.push(e);
          progress(`evaluator ${layout} N=${n} ${familyName(family)} ${pattern}: ${rateText(e.decisionsPerSecond)} decisions`);
        }
      }
    }
  }
}

/** Classes in the shared-class load workload: documents admit one of a few sets of subnets (named sets in port-map). */
const SHARED_CLASSES = 10;

async function measureLoads(plan: BenchPlan, cache: WorkloadCache, lab: Lab, out: Collected): Promise<void> {
  const total = plan.sizes.length * plan.families.length * plan.layouts.length;
  let i = 0;
  for (const family of plan.families) {
    for (const n of plan.sizes) {
      for (const layout of plan.layouts) {
        i++;
        const label = `load ${i}/${total} ${layout} N=${n} ${familyName(family)}`;
        try {
          const target = { netns: lab.servers.fw };
          const w = cache.workload(layout, n, family, "miss");
          const m = await measureLoad(w, target, plan.loadReps);
          out.load.push(m);
          progress(
            `${label}: apply ${msText(m.applyMs.median)} ms, nft -j -f ${msText(m.transactionMs.median)} ms, kernel memory ${memoryText(m.kernelMemoryKiB.median)}`,
          );
          if (n === 0) continue;
          const variant = (v: DocumentVariant) => compileBench(configOf(benchDocuments(n, family, "miss", v)), layout);
          const shared = await measureLoad({ ...w, ruleset: variant({ sharedClasses: SHARED_CLASSES }) }, target, plan.loadReps, "shared");
          out.load.push(shared);
          const u = await measureUpdate(w, variant({ edited: Math.floor(n / 2) }), target, plan.loadReps);
          out.update.push(u);
          progress(
            `${label}: ${SHARED_CLASSES} shared classes apply ${msText(shared.applyMs.median)} ms, memory ${memoryText(shared.kernelMemoryKiB.median)}; one document changed: ${u.commands === null ? "rebuilt" : `${u.commands} command(s)`}, ${msText(u.knownMs.median)} ms from the known table, ${msText(u.listedMs.median)} ms listing it`,
          );
        } catch (e) {
          out.errors.push(`${label}: ${brief(e)}`);
          progress(`${label}: FAILED: ${brief(e)}`);
        }
      }
    }
  }
}

async function measureTraffics(
  plan: BenchPlan,
  cache: WorkloadCache,
  lab: Lab,
  sender: Sender,
  clock: "cpu" | "wall",
  out: Collected,
  save: () => void,
): Promise<void> {
  const workloads = plan.families.flatMap((family) =>
    plan.sizes.flatMap((n) => patternsFor(plan, n).flatMap((pattern) => plan.layouts.map((layout) => ({ layout, n, family, pattern })))),
  );
  let i = 0;
  for (const { layout, n, family, pattern } of workloads) {
    i++;
    const label = `traffic ${i}/${workloads.length} ${layout} N=${n} ${familyName(family)} ${pattern}`;
    let verification: Verification = { ok: false, probes: [], problems: [] };
    try {
      const w = cache.workload(layout, n, family, pattern);
      verification = verifyWithEvaluator(w);
      verification = await verifyWithKernel(w, verification, sender, lab, plan.cpu);
      if (!verification.ok) {
        progress(`${label}: POLICY MISMATCH, not timed: ${verification.problems.join("; ")}`);
        out.traffic.push({ layout, n, family, pattern, verification, result: null });
        continue;
      }
      const result = await measureTraffic(w, sender, lab, { pairs: plan.pairs, seconds: plan.seconds, cpu: plan.cpu, clock });
      out.traffic.push({ layout, n, family, pattern, verification, result });
      progress(
        `${label}: verified (${verification.probes.length} probes); rate ${result.rateRatio.median.toFixed(3)}× no firewall, +${Math.round(result.overheadNs.median)} ns/packet (${result.fwNs.median.toFixed(0)} vs ${result.refNs.median.toFixed(0)} ns)`,
      );
    } catch (e) {
      const error = brief(e);
      progress(`${label}: FAILED: ${error}`);
      out.traffic.push({ layout, n, family, pattern, verification, result: null, error });
    }
    save(); // a long run stopped early keeps what it measured
  }
}

async function run(argv: readonly string[]): Promise<number> {
  const cmd = program();
  try {
    cmd.parse(argv as string[], { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : EXIT_USAGE;
    throw e;
  }
  const o = cmd.opts<BenchOptions & { out?: string }>();
  let plan: BenchPlan;
  try {
    plan = makePlan(o, availableParallelism());
  } catch (e) {
    if (!(e instanceof PlanError)) throw e;
    process.stderr.write(`bench: ${e.message}\n`);
    return EXIT_USAGE;
  }
  const root = needsRoot(plan);
  if (root && process.getuid?.() !== 0) {
    process.stderr.write("bench: load and traffic measurements need root (network namespaces, nftables); --parts compile,evaluator runs without\n");
    return EXIT_PERMISSION;
  }
  const started = new Date();
  const outDir = o.out ?? join("bench-results", timestamp(started));
  const host = await hostInfo();
  const clock = chooseClock(plan.clock, host);
  const collected: Collected = { configLoad: [], compile: [], evaluator: [], load: [], update: [], traffic: [], errors: [] };
  const cache = new WorkloadCache();
  const results = (complete: boolean): BenchResults => ({
    meta: {
      started: started.toISOString(),
      finished: new Date().toISOString(),
      wallSeconds: (Date.now() - started.getTime()) / 1000,
      complete,
      host,
      clock,
      plan,
    },
    ...collected,
  });
  const save = (complete = false): BenchResults => {
    const r = results(complete);
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, "results.json"), JSON.stringify(r, null, 1) + "\n");
    writeFileSync(join(outDir, "results.md"), renderMarkdown(r));
    return r;
  };
  progress(
    `bench: layouts ${plan.layouts.join(",")}; N ${plan.sizes.join(",")}; ${plan.families.map(familyName).join(",")}; parts ${plan.parts.join(",")}; clock ${clock}; results in ${outDir}`,
  );

  measureUserSpace(plan, cache, collected);
  if (root) {
    const missing = missingTools();
    if (missing.length > 0) {
      try {
        installPackages(missing);
      } catch {
        process.stderr.write(`bench: missing ${missing.join(" ")}; install them: apt-get install -y ${missing.join(" ")}\n`);
        return EXIT_TOOLS;
      }
    }
    for (const n of await removeStaleLabs()) progress(`removed namespace ${n} left by an earlier run`);
    try {
      active.sender = buildSender();
      active.lab = await createLab();
      progress(`namespaces ${active.lab.client}, ${active.lab.servers.fw}, ${active.lab.servers.ref} ready`);
      if (plan.parts.includes("load")) {
        await measureLoads(plan, cache, active.lab, collected);
        save();
      }
      if (plan.parts.includes("traffic")) await measureTraffics(plan, cache, active.lab, active.sender, clock, collected, save);
    } catch (e) {
      collected.errors.push(brief(e));
      progress(`FAILED: ${brief(e)}`);
    } finally {
      cleanUp();
    }
  }
  const final = save(true);
  process.stdout.write(renderMarkdown(final));
  progress(`results: ${join(outDir, "results.json")}, ${join(outDir, "results.md")}`);
  const failed = final.errors.length > 0 || final.traffic.some((t) => t.result === null);
  return failed ? 1 : 0;
}

process.once("exit", cleanUp);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    process.stderr.write(`\nbench: ${signal}, removing the bench's namespaces\n`);
    cleanUp();
    process.exit(130);
  });
}

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`bench: ${(e as Error).stack ?? String(e)}\n`);
    cleanUp();
    process.exitCode = 1;
  },
);
