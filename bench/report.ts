// The results of one run: the JSON document written to results.json and its markdown tables. Pure.
import type { Family } from "../src/net/address.js";
import { PATTERNS, type Pattern } from "./configs.js";
import type { HostInfo } from "./host.js";
import type { CompileMeasurement, ConfigLoadMeasurement, EvaluatorMeasurement } from "./measure-cpu.js";
import type { LoadMeasurement, UpdateMeasurement } from "./measure-load.js";
import type { TrafficMeasurement } from "./measure-traffic.js";
import type { BenchPlan } from "./plan.js";
import { median } from "./stats.js";
import type { Verification } from "./verify.js";

export interface TrafficRow {
  readonly layout: string;
  readonly n: number;
  readonly family: Family;
  readonly pattern: Pattern;
  readonly verification: Verification;
  /** null when the workload failed verification (a ruleset is only timed if it implements the policy) or the run failed. */
  readonly result: TrafficMeasurement | null;
  readonly error?: string;
}

export interface BenchResults {
  readonly meta: {
    readonly started: string;
    readonly finished: string;
    readonly wallSeconds: number;
    /** false while the run is still going (results are saved as they come) or when it was stopped. */
    readonly complete: boolean;
    readonly host: HostInfo;
    /** Which sender clock the ns/packet figures use. */
    readonly clock: "cpu" | "wall";
    readonly plan: BenchPlan;
  };
  readonly configLoad: readonly ConfigLoadMeasurement[];
  readonly compile: readonly CompileMeasurement[];
  readonly evaluator: readonly EvaluatorMeasurement[];
  readonly load: readonly LoadMeasurement[];
  /** Changing one document of N loaded ones (absent in results of earlier versions). */
  readonly update?: readonly UpdateMeasurement[];
  readonly traffic: readonly TrafficRow[];
  /** Measurements that could not be made, with the reason. */
  readonly errors: readonly string[];
}

export function familyName(f: Family): string {
  return `IPv${f}`;
}

function fixed(x: number, digits: number): string {
  return x.toFixed(digits);
}

export function msText(ms: number): string {
  if (ms < 10) return fixed(ms, 2);
  if (ms < 100) return fixed(ms, 1);
  return fixed(ms, 0);
}

export function memoryText(kib: number): string {
  if (Math.abs(kib) < 1024) return `${fixed(kib, 0)} KiB`;
  return `${fixed(kib / 1024, 1)} MiB`;
}

export function rateText(perSecond: number): string {
  if (perSecond >= 1e6) return `${fixed(perSecond / 1e6, 2)} M/s`;
  if (perSecond >= 1e3) return `${fixed(perSecond / 1e3, 1)} k/s`;
  return `${fixed(perSecond, 0)}/s`;
}

function signedNs(ns: number): string {
  const r = Math.round(ns);
  return `${r >= 0 ? "+" : "−"}${Math.abs(r).toLocaleString("en-US")} ns`;
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  return [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)];
}

/** The first item of each key, in order. */
function distinct<T>(items: readonly T[], key: (t: T) => string): T[] {
  const seen = new Set<string>();
  return items.filter((t) => {
    const k = key(t);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Two decimals, or two significant digits below 0.1 so that 0.0012 does not print as 0.00. */
export function ratioText(ratio: number): string {
  return ratio < 0.1 ? ratio.toPrecision(2) : fixed(ratio, 2);
}

function trafficCell(row: TrafficRow | undefined): string {
  if (!row) return "–";
  if (row.error !== undefined) return "failed (see Verification)";
  if (!row.verification.ok) return "policy mismatch (not timed)";
  if (!row.result) return "–";
  return `${ratioText(row.result.rateRatio.median)} (${signedNs(row.result.overheadNs.median)})`;
}

/** The kernel confirmed every probe: the workload was loaded and probed, and nothing disagreed. */
export function kernelVerified(v: Verification): boolean {
  return v.ok && v.probes.length > 0 && v.probes.every((p) => p.kernel !== undefined);
}

function trafficSection(r: BenchResults): string[] {
  const rows = r.traffic;
  if (rows.length === 0) return [];
  const layouts = r.meta.plan.layouts;
  const timed = rows.flatMap((t) => (t.result ? [t.result.refNs.median] : []));
  const out = ["## Packet rate relative to no firewall", ""];
  out.push(
    "Median over ABBA pairs of (ns/packet without firewall) ÷ (ns/packet with it): 1.00 means the firewall costs nothing; in brackets the median paired difference, the firewall's cost per packet.",
  );
  if (timed.length > 0) {
    const ref = median(timed);
    out.push(`No firewall: ${Math.round(ref).toLocaleString("en-US")} ns/packet (${fixed(1e3 / ref, 2)} Mpps on one CPU), median over all runs.`);
  }
  out.push("");
  const ordered = [...rows].sort((a, b) => a.family - b.family || a.n - b.n || PATTERNS.indexOf(a.pattern) - PATTERNS.indexOf(b.pattern));
  const body = distinct(ordered, (t) => `${t.family} ${t.n} ${t.pattern}`).map((w) => {
    const same = (t: TrafficRow) => t.family === w.family && t.n === w.n && t.pattern === w.pattern;
    return [familyName(w.family), String(w.n), w.pattern, ...layouts.map((l) => trafficCell(rows.find((t) => same(t) && t.layout === l)))];
  });
  out.push(...table(["family", "N", "pattern", ...layouts], body), "");
  const relative = distinct(ordered, (t) => `${t.family} ${t.n} ${t.pattern}`)
    .filter((w) => w.n > 0)
    .map((w) => {
      const cells = layouts.map((l) => {
        const ratio = relativeToNoRules(rows, l, w);
        return ratio === null ? "–" : ratioText(ratio);
      });
      return [familyName(w.family), String(w.n), w.pattern, ...cells];
    });
  if (relative.some((row) => row.slice(3).some((c) => c !== "–"))) {
    out.push(
      "The rules' own cost: rate with N rules relative to the same layout with none (N = 0, the Talos preamble and conntrack alone), i.e. the ratio above divided by the N = 0 ratio.",
      "",
      ...table(["family", "N", "pattern", ...layouts], relative),
      "",
    );
  }
  return out;
}

/** rate(N) / rate(0) for the layout and family: each is a median of ratios to the reference, so drift cancels. */
export function relativeToNoRules(rows: readonly TrafficRow[], layout: string, w: Pick<TrafficRow, "family" | "n" | "pattern">): number | null {
  const at = rows.find((t) => t.layout === layout && t.family === w.family && t.n === w.n && t.pattern === w.pattern)?.result;
  const base = rows.find((t) => t.layout === layout && t.family === w.family && t.n === 0)?.result;
  return at && base ? at.rateRatio.median / base.rateRatio.median : null;
}

function loadSection(r: BenchResults): string[] {
  if (r.load.length === 0) return [];
  const layouts = r.meta.plan.layouts;
  const out = [
    "## Apply time and kernel memory",
    "",
    "From no table: `apply` = the real applyRuleset (compare, one transaction, read-back verification); `nft -j -f` = the same transaction alone; memory = kernel memory the loaded table holds (unreclaimable slab + vmalloc + per-CPU, /proc/meminfo; mean of growth on load and shrink on delete; other activity on the machine makes differences of a few hundred KiB noise). Medians over repetitions; miss workload.",
    "",
  ];
  const header = ["family", "N", ...layouts.flatMap((l) => [`${l} apply ms`, `${l} nft -j -f ms`, `${l} memory`])];
  const load = (classes: LoadMeasurement["classes"]) => r.load.filter((m) => (m.classes ?? "distinct") === classes);
  const ordered = [...load("distinct")].sort((a, b) => a.family - b.family || a.n - b.n);
  const body = distinct(ordered, (m) => `${m.family} ${m.n}`).map(({ family, n }) => {
    const cells = layouts.flatMap((l) => {
      const m = load("distinct").find((x) => x.layout === l && x.family === family && x.n === n);
      return m ? [msText(m.applyMs.median), msText(m.transactionMs.median), memoryText(m.kernelMemoryKiB.median)] : ["–", "–", "–"];
    });
    return [familyName(family), String(n), ...cells];
  });
  out.push(...table(header, body), "");
  const updates = r.update ?? [];
  if (updates.length === 0 && load("shared").length === 0) return out;
  out.push(
    "Shared classes: the same N documents, each admitting one of 10 classes of 8 subnets (port-map: 10 named sets instead of per-document tests). One document changed: the miss workload loaded, then one document's sources changed back and forth; `known` = applyRuleset from the table it last applied (the daemon's path: neither listed first nor read back; its next reconcile compares the whole table), `listed` = as the CLI runs it (list the table, update, read it all back). A change is an in-place update of the given number of commands, or `rebuilt` when re-adding most of the table is slower than building it afresh (per-rule: one chain).",
    "",
  );
  const uHeader = [
    "family",
    "N",
    ...layouts.flatMap((l) => [`${l} shared apply ms`, `${l} shared memory`, `${l} change: commands`, `${l} change known ms`, `${l} change listed ms`]),
  ];
  const uBody = distinct(
    [...load("shared"), ...updates].sort((a, b) => a.family - b.family || a.n - b.n),
    (m) => `${m.family} ${m.n}`,
  ).map(({ family, n }) => {
    const cells = layouts.flatMap((l) => {
      const m = load("shared").find((x) => x.layout === l && x.family === family && x.n === n);
      const u = updates.find((x) => x.layout === l && x.family === family && x.n === n);
      return [
        m ? msText(m.applyMs.median) : "–",
        m ? memoryText(m.kernelMemoryKiB.median) : "–",
        u ? (u.commands === null ? "rebuilt" : String(u.commands)) : "–",
        u ? msText(u.knownMs.median) : "–",
        u ? msText(u.listedMs.median) : "–",
      ];
    });
    return [familyName(family), String(n), ...cells];
  });
  out.push(...table(uHeader, uBody), "");
  return out;
}

function cpuSection(r: BenchResults): string[] {
  if (r.configLoad.length === 0 && r.compile.length === 0 && r.evaluator.length === 0) return [];
  const layouts = r.meta.plan.layouts;
  const families = r.meta.plan.families;
  const sizes = [...new Set([...r.configLoad.map((c) => c.n), ...r.compile.map((c) => c.n), ...r.evaluator.map((e) => e.n)])].sort((a, b) => a - b);
  const out = [
    "## Compile time and evaluator speed",
    "",
    `Config load = decoding and validating the N + 1 YAML documents (loadConfig); compile = compileRuleset on the validated model; median ms, ${families.map(familyName).join(" / ")}. Evaluator = decisions per second on the workloads' bench packets, the slowest family and pattern.`,
    "",
  ];
  const header = ["N", "config load ms", ...layouts.map((l) => `${l} compile ms`), ...layouts.map((l) => `${l} evaluator`)];
  const perFamily = (pick: (f: Family) => number | undefined): string => {
    const values = families.map(pick);
    return values.every((v) => v === undefined) ? "–" : values.map((v) => (v === undefined ? "–" : msText(v))).join(" / ");
  };
  const body = sizes.map((n) => {
    const load = perFamily((f) => r.configLoad.find((c) => c.n === n && c.family === f)?.ms.median);
    const compile = layouts.map((l) => perFamily((f) => r.compile.find((c) => c.layout === l && c.n === n && c.family === f)?.compileMs.median));
    const evaluator = layouts.map((l) => {
      const rates = r.evaluator.filter((e) => e.layout === l && e.n === n).map((e) => e.decisionsPerSecond);
      return rates.length === 0 ? "–" : rateText(Math.min(...rates));
    });
    return [String(n), load, ...compile, ...evaluator];
  });
  out.push(...table(header, body), "");
  return out;
}

function workloadName(t: TrafficRow): string {
  return `${t.layout} N=${t.n} ${familyName(t.family)} ${t.pattern}`;
}

function verificationSection(r: BenchResults): string[] {
  const out = ["## Verification", ""];
  const rows = r.traffic;
  if (rows.length > 0) {
    const verified = rows.filter((t) => kernelVerified(t.verification));
    const probes = verified.reduce((sum, t) => sum + t.verification.probes.length, 0);
    out.push(
      `${verified.length} of ${rows.length} workloads verified before timing: for each of their ${probes} probes the evaluator gave the intended verdict and the kernel, holding the real ruleset, delivered exactly the probes the intended policy accepts.`,
    );
    for (const t of rows.filter((x) => x.error === undefined && !x.verification.ok))
      out.push(`- policy mismatch, ${workloadName(t)}: ${t.verification.problems.join("; ")}`);
    for (const t of rows.filter((x) => x.error !== undefined)) out.push(`- failed, ${workloadName(t)}: ${t.error}`);
  } else {
    out.push("No traffic workloads in this run.");
  }
  for (const e of r.errors) out.push(`- error: ${e}`);
  out.push("");
  return out;
}

function methodSection(r: BenchResults): string[] {
  const p = r.meta.plan;
  const h = r.meta.host;
  const out = ["## Method", ""];
  if (r.traffic.length > 0) {
    out.push(
      `Three namespaces (\`ifw-bench-*\`): a client writes TCP ACK frames (60 bytes IPv4, 74 IPv6) with a wrong checksum over AF_PACKET into a veth to the firewall namespace (the ruleset under test, input hook) or to an identical reference namespace without a ruleset; the receiver's TCP layer discards every packet the firewall lets through (checked: all of them, every run). The receive path runs on the sending CPU (CPU ${p.cpu}), so ns/packet is the whole send + receive + firewall cost; figures use the sender's ${r.meta.clock === "cpu" ? "thread CPU time (the kernel charges softirq time to it: CONFIG_IRQ_TIME_ACCOUNTING is off)" : "wall-clock time"}.`,
      `Timed runs load the ruleset with base-chain policy accept so both sides end in the same sink; the real ruleset (policy drop) is what verification loads. Per workload ${p.pairs} ABBA pairs of ${p.seconds} s runs. Block mode, compiled without node addresses (input chain only). The firewall's conntrack lookups count as its cost: the reference namespace has no conntrack.`,
    );
  }
  out.push(`Machine: ${h.cpuModel}, ${h.cpus} CPUs, ${h.memoryGiB} GiB; Linux ${h.kernel}; ${h.nft}; Node ${h.node}.`, "");
  return out;
}

export function renderMarkdown(r: BenchResults): string {
  const p = r.meta.plan;
  const head = [
    `# ingressfw bench ${r.meta.started}${p.quick ? " (--quick)" : ""}${r.meta.complete ? "" : " — incomplete"}`,
    "",
    `Layouts ${p.layouts.join(", ")}; N = ${p.sizes.join(", ")}; ${p.families.map(familyName).join(", ")}; patterns ${p.patterns.join(", ")}; ${fixed(r.meta.wallSeconds, 0)} s.`,
    "",
  ];
  return [...head, ...trafficSection(r), ...loadSection(r), ...cpuSection(r), ...verificationSection(r), ...methodSection(r)].join("\n");
}
