import assert from "node:assert/strict";
import { test } from "node:test";
import { NODES, allProbes } from "./plan.js";
import { promised } from "./promises.js";
import { MATCH_MARK, MISMATCH_MARK, cellMatches, renderKeepHelp, renderMatrix, renderSummary, type Cell } from "./report.js";

const asPromised: Cell[] = allProbes().map((p) => ({ probe: p, observed: promised(p), promised: promised(p) }));
const countOf = (s: string, mark: string) => s.split(mark).length - 1;

test("a matrix where every cell is as promised: one block per node, every cell marked, no mismatch", () => {
  const out = renderMatrix(asPromised, { color: false, timeoutMs: 400 });
  assert.equal(countOf(out, MATCH_MARK), asPromised.length + 1); // +1: the legend
  assert.equal(countOf(out, MISMATCH_MARK), 1); // the legend only
  for (const n of NODES) assert.match(out, new RegExp(`^to ${n.name} \\(`, "m"));
  assert.ok(!out.includes("\x1b["), "no escape codes without colour");
  assert.match(renderSummary(asPromised, { color: false }), /^All 320 checked cells match the seed's promises \(192 open, 128 dropped\)/);
});

test("a mismatch shows what was seen and what was promised, and the summary names it", () => {
  const i = asPromised.findIndex((c) => c.promised === "drop" && c.probe.source.role === "external");
  const cells = asPromised.map((c, k) => (k === i ? { ...c, observed: "open" as const } : c));
  const bad = cells[i]!;
  assert.ok(!cellMatches(bad));
  const out = renderMatrix(cells, { color: false, timeoutMs: 400 });
  assert.ok(out.includes(`open${MISMATCH_MARK}drop`));
  const summary = renderSummary(cells, { color: false });
  assert.match(summary, /^1 of 320 checked cells differ/);
  assert.ok(
    summary.includes(
      `external → ${bad.probe.dest.name} ${bad.probe.service.name} ${bad.probe.service.port}/tcp over IPv${bad.probe.family}: saw open, promised drop`,
    ),
    summary,
  );
});

test("skipped ICMP cells count neither as matches nor as mismatches", () => {
  const cells = asPromised.map((c) => (c.probe.service.proto === "icmp" ? { ...c, observed: "skipped" as const } : c));
  assert.ok(cells.every(cellMatches));
  assert.match(renderSummary(cells, { color: false }), /All 280 checked cells match .*40 skipped/);
});

test("colour wraps cells without changing the text", () => {
  // eslint-disable-next-line no-control-regex -- the escape codes are what is stripped
  const strip = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, "");
  const opts = { timeoutMs: 400 };
  const coloured = renderMatrix(asPromised, { ...opts, color: true });
  assert.ok(coloured.includes("\x1b["));
  // Trailing padding may differ (colour wraps padded cells); the visible content may not.
  const lines = (s: string) => s.split("\n").map((l) => l.trimEnd());
  assert.deepEqual(lines(strip(coloured)), lines(renderMatrix(asPromised, { ...opts, color: false })));
});

test("the --keep help names the lab's namespaces and how to remove them", () => {
  const help = renderKeepHelp();
  assert.match(help, /ip netns exec ifw-demo-cp1 nft list ruleset/);
  assert.match(help, /ingressfw demo --clean/);
});
