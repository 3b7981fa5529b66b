import { test } from "node:test";
import assert from "node:assert/strict";
import { loadConfig } from "../src/config/load.js";
import { LAYOUT_NAMES } from "../src/compile/ruleset.js";
import { parsePrefix, prefixRange, type Family } from "../src/net/address.js";
import { benchDocuments, benchPacket, benchRules, CLIENT_SUBNET, FAMILIES, intendedVerdict, MISS_PORT, PATTERNS, probes, ruleSubnets } from "./configs.js";
import { verifyWithEvaluator } from "./verify.js";
import { buildWorkload, withPolicyAccept } from "./workload.js";

test("the documents are valid Talos configs: block mode, N rules of two subnets on two port items", () => {
  for (const family of FAMILIES) {
    const { config, diagnostics } = loadConfig([{ file: "b.yaml", text: benchDocuments(25, family, "miss") }]);
    assert.deepEqual(
      diagnostics.filter((d) => d.severity === "error"),
      [],
    );
    assert.equal(config.defaultAction?.action, "block");
    assert.equal(config.rules.length, 25);
    for (const r of config.rules) {
      assert.equal(r.protocol, 6);
      assert.equal(r.ports.length, 2);
      assert.equal(r.ingress.length, 2);
      assert.ok(r.ingress.every((e) => e.subnet?.family === family && e.except === null));
    }
    const rule7 = config.rules[7]!;
    assert.deepEqual(
      rule7.ports.map((p) => [p.lo, p.hi]),
      [
        [10007, 10007],
        [40014, 40015],
      ],
    );
  }
});

test("rule subnets are pairwise disjoint and never adjacent, so nothing can merge them", () => {
  for (const family of [4, 6] as Family[]) {
    const ranges = Array.from({ length: 5000 }, (_, i) => ruleSubnets(family, i))
      .flat()
      .map((s) => prefixRange(parsePrefix(s)))
      .sort((a, b) => (a.lo < b.lo ? -1 : 1));
    for (let k = 1; k < ranges.length; k++) assert.ok(ranges[k]!.lo > ranges[k - 1]!.hi + 1n, `${family}: ranges ${k - 1} and ${k} touch`);
  }
});

test("the patterns mean what performance.md says", () => {
  const n = 50;
  for (const family of FAMILIES) {
    const client = CLIENT_SUBNET[family];
    const miss = benchRules(n, family, "miss");
    assert.ok(miss.every((r) => !r.subnets.includes(client)));
    assert.equal(benchPacket(n, family, "miss").dport, MISS_PORT);
    assert.ok(benchRules(n, family, "inport").every((r) => r.subnets.includes(client)));
    const hit = benchRules(n, family, "hit");
    assert.deepEqual(
      hit.map((r, i) => (r.subnets.includes(client) ? i : -1)).filter((i) => i >= 0),
      [n - 1],
    );
    assert.equal(benchPacket(n, family, "hit").dport, hit[n - 1]!.port);
    const hot = benchRules(n, family, "hotport");
    assert.ok(hot.every((r) => r.port === hot[0]!.port && r.range[0] === hot[0]!.range[0]));
    assert.ok(hot.every((r) => !r.subnets.includes(client)));
    const expected = { miss: "drop", inport: "drop", hit: "accept", hotport: "drop" } as const;
    for (const p of PATTERNS) assert.equal(intendedVerdict(benchRules(n, family, p), benchPacket(n, family, p)), expected[p], p);
  }
});

test("the intended policy accepts exactly a rule's source on that rule's ports", () => {
  const rules = benchRules(3, 4, "miss");
  assert.equal(intendedVerdict(rules, { src: "10.0.1.5", dport: 10001 }), "accept");
  assert.equal(intendedVerdict(rules, { src: "100.64.1.127", dport: 40003 }), "accept");
  assert.equal(intendedVerdict(rules, { src: "100.64.1.128", dport: 40003 }), "drop", "the /25 ends at .127");
  assert.equal(intendedVerdict(rules, { src: "10.0.1.5", dport: 10002 }), "drop", "rule 2's port, rule 1's source");
  assert.equal(intendedVerdict(rules, { src: "fd0a:0:1::5", dport: 10001 }), "drop", "another family");
  const probeVerdicts = probes(3, 4, "miss").map((p) => intendedVerdict(rules, p));
  assert.deepEqual(probeVerdicts, ["drop", "accept", "accept", "drop", "drop"]);
});

test("every layout's compilation gives every probe its intended verdict (evaluator)", () => {
  for (const layout of LAYOUT_NAMES) {
    for (const family of FAMILIES) {
      for (const pattern of PATTERNS) {
        for (const n of [1, 7]) {
          const v = verifyWithEvaluator(buildWorkload(layout, n, family, pattern));
          assert.deepEqual(v.problems, [], `${layout} N=${n} IPv${family} ${pattern}`);
        }
      }
    }
  }
});

test("the timing variant changes only base-chain policies", () => {
  const w = buildWorkload("per-rule", 3, 4, "miss");
  const timing = withPolicyAccept(w.ruleset);
  assert.ok(w.ruleset.chains.some((c) => c.base.policy === "drop"));
  assert.ok(timing.chains.every((c) => c.base.policy === "accept"));
  assert.deepEqual(
    timing.chains.map((c) => c.rules),
    w.ruleset.chains.map((c) => c.rules),
  );
});
