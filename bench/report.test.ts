import { test } from "node:test";
import assert from "node:assert/strict";
import type { Family } from "../src/net/address.js";
import type { Pattern } from "./configs.js";
import type { TrafficMeasurement } from "./measure-traffic.js";
import { makePlan } from "./plan.js";
import { kernelVerified, memoryText, ratioText, relativeToNoRules, renderMarkdown, type BenchResults, type TrafficRow } from "./report.js";
import { summarizePairs } from "./stats.js";
import type { Verification } from "./verify.js";

const verified: Verification = {
  ok: true,
  problems: [],
  probes: [{ src: "198.18.0.2", dport: 9, intended: "drop", evaluator: "drop", kernel: { sent: 64, delivered: 0 } }],
};

function measured(fwNs: number, refNs: number): TrafficMeasurement {
  const samples = [{ fwNs, refNs }];
  return { ...summarizePairs(samples), samples, batch: 256, packetsPerRun: 1000 };
}

function row(layout: string, n: number, family: Family, pattern: Pattern, result: TrafficMeasurement | null, verification = verified): TrafficRow {
  return { layout, n, family, pattern, verification, result };
}

const traffic: TrafficRow[] = [
  row("per-rule", 0, 4, "miss", measured(1250, 1000)),
  row("per-rule", 10, 4, "miss", measured(2000, 1000)),
  row("per-rule", 10, 4, "hit", null, { ok: false, problems: ["evaluator: x is drop, intended accept"], probes: [] }),
  { ...row("per-rule", 10, 4, "inport", null), error: "the kernel rejected the ruleset" },
];

const results: BenchResults = {
  meta: {
    started: "2026-01-01T00:00:00.000Z",
    finished: "2026-01-01T00:01:00.000Z",
    wallSeconds: 60,
    complete: true,
    host: { cpuModel: "cpu", cpus: 2, memoryGiB: 4, kernel: "6.1", nft: "nftables v1.0.6", node: "v20", irqTimeAccounting: false },
    clock: "cpu",
    plan: makePlan({ layouts: "per-rule", sizes: "0,10", families: "4", patterns: "miss,hit" }, 2),
  },
  configLoad: [],
  compile: [],
  evaluator: [],
  load: [],
  traffic,
  errors: [],
};

test("the markdown table shows the paired rate, the cost per packet and unverified workloads", () => {
  const md = renderMarkdown(results);
  assert.match(md, /\| IPv4 \| 10 \| miss \| 0\.50 \(\+1,000 ns\) \|/);
  assert.match(md, /\| IPv4 \| 10 \| hit \| policy mismatch \(not timed\) \|/);
  assert.match(md, /\| IPv4 \| 10 \| inport \| failed \(see Verification\) \|/);
  assert.match(md, /3 of 4 workloads verified/);
  assert.match(md, /- policy mismatch, per-rule N=10 IPv4 hit: evaluator: x is drop, intended accept/);
  assert.match(md, /- failed, per-rule N=10 IPv4 inport: the kernel rejected the ruleset/);
});

test("the rules' own cost divides by the same layout's N = 0 ratio", () => {
  assert.equal(relativeToNoRules(traffic, "per-rule", { family: 4, n: 10, pattern: "miss" }), 0.5 / 0.8);
  assert.equal(relativeToNoRules(traffic, "port-map", { family: 4, n: 10, pattern: "miss" }), null);
  assert.match(renderMarkdown(results), /\| IPv4 \| 10 \| miss \| 0\.63 \|/);
});

test("a workload counts as verified only when the kernel answered every probe", () => {
  assert.equal(kernelVerified(verified), true);
  assert.equal(kernelVerified({ ...verified, probes: [{ src: "198.18.0.2", dport: 9, intended: "drop", evaluator: "drop" }] }), false);
  assert.equal(memoryText(512), "512 KiB");
  assert.equal(ratioText(0.0012), "0.0012");
  assert.equal(ratioText(0.734), "0.73");
  assert.equal(memoryText(17 * 1024), "17.0 MiB");
});
