import { test } from "node:test";
import assert from "node:assert/strict";
import { LAYOUT_NAMES } from "../src/compile/ruleset.js";
import { PATTERNS } from "./configs.js";
import { parseNetnsList, staleLabNamespaces, tcpInCsumErrors } from "./lab.js";
import { kernelMemoryKiB } from "./measure-load.js";
import { batchFor } from "./measure-traffic.js";
import { DEFAULTS, makePlan, patternsFor, PlanError, QUICK } from "./plan.js";
import { parseSendOutput } from "./sender.js";

test("by default every layout, N = 0 (preamble) 10 100 1000 5000, both families, all patterns", () => {
  const p = makePlan({}, 2);
  assert.deepEqual(p.layouts, LAYOUT_NAMES);
  assert.deepEqual(p.sizes, DEFAULTS.sizes);
  assert.deepEqual(p.families, [4, 6]);
  assert.deepEqual(p.patterns, PATTERNS);
  assert.equal(p.cpu, 1);
  assert.equal(makePlan({ quick: true }, 2).pairs, QUICK.pairs);
});

test("selections are checked and normalised", () => {
  const p = makePlan({ layouts: "per-rule", sizes: "100,10,10", families: "ipv6", patterns: "hit", pairs: "5", cpu: "0" }, 4);
  assert.deepEqual(p.layouts, ["per-rule"]);
  assert.deepEqual(p.sizes, [10, 100]);
  assert.deepEqual(p.families, [6]);
  assert.equal(p.cpu, 0);
  assert.throws(() => makePlan({ layouts: "nope" }, 2), PlanError);
  assert.throws(() => makePlan({ sizes: "10,x" }, 2), PlanError);
  assert.throws(() => makePlan({ sizes: "99999" }, 2), PlanError);
  assert.throws(() => makePlan({ families: "5" }, 2), PlanError);
  assert.throws(() => makePlan({ cpu: "2" }, 2), PlanError);
  assert.throws(() => makePlan({ seconds: "60" }, 2), PlanError);
  assert.throws(() => makePlan({ clock: "tsc" }, 2), PlanError);
});

test("with no rules only the miss pattern is run", () => {
  const p = makePlan({}, 2);
  assert.deepEqual(patternsFor(p, 0), ["miss"]);
  assert.deepEqual(patternsFor(p, 10), PATTERNS);
  assert.deepEqual(patternsFor(makePlan({ patterns: "hit" }, 2), 0), []);
});

test("stale lab namespaces are those of bench runs whose process is gone", () => {
  const names = parseNetnsList("ifw-bench-fw-12 (id: 3)\nifw-bench-cli-12\nifw-bench-ref-99 (id: 1)\nother-12\nifw-bench-x-12\n");
  assert.deepEqual(names, ["ifw-bench-fw-12", "ifw-bench-cli-12", "ifw-bench-ref-99", "other-12", "ifw-bench-x-12"]);
  assert.deepEqual(
    staleLabNamespaces(names, (pid) => pid === 99),
    ["ifw-bench-fw-12", "ifw-bench-cli-12"],
  );
});

test("kernel readings: TcpInCsumErrors, kernel memory, sender output", () => {
  const snmp = "Ip: Forwarding DefaultTTL\nIp: 2 64\nTcp: RtoAlgorithm InErrs InCsumErrors\nTcp: 1 5 1234\nUdp: InDatagrams\nUdp: 7\n";
  assert.equal(tcpInCsumErrors(snmp), 1234);
  assert.throws(() => tcpInCsumErrors("Ip: a\nIp: 1\n"));
  const meminfo = "MemTotal:       24684136 kB\nSReclaimable:     100 kB\nSUnreclaim:        2000 kB\nVmallocUsed:       300 kB\nPercpu:             40 kB\n";
  assert.equal(kernelMemoryKiB(meminfo), 2340);
  assert.deepEqual(parseSendOutput('{"sent":10,"wall_ns":2000,"cpu_ns":1500}\n'), { sent: 10, wallNs: 2000, cpuNs: 1500 });
  assert.throws(() => parseSendOutput('{"sent":"10"}'));
});

test("batches shrink for slow packets so a run is not one long call", () => {
  assert.equal(batchFor(1000, 100), 256);
  assert.equal(batchFor(1_000_000, 200), 4);
  assert.equal(batchFor(1e9, 100), 1);
});
