// planUpdate: the in-place update from one compiled table to another — what it touches, in what order,
// and when it declines (structural changes). The kernel side is test/kernel/update.test.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatDiagnostic, hasErrors } from "../config/diagnostics.js";
import { loadConfig } from "../config/load.js";
import { compileRuleset } from "../compile/index.js";
import type { ProfileName } from "../compile/profiles.js";
import { rulesetState } from "./apply.js";
import { planUpdate as plan, viewSide, writtenSide, type PlanSide } from "./update-plan.js";

const doc = (name: string, ports: string, subnets: readonly string[]) =>
  `apiVersion: v1alpha1\nkind: NetworkRuleConfig\nname: ${name}\nportSelector:\n  ports: [${ports}]\n  protocol: tcp\ningress:\n${subnets.map((s) => `  - subnet: ${s}`).join("\n")}\n`;
const mode = (m: "accept" | "block") => `apiVersion: v1alpha1\nkind: NetworkDefaultActionConfig\ningress: ${m}\n`;

function state(docs: readonly string[], profile: ProfileName = "talos") {
  const { config, diagnostics } = loadConfig([{ file: "u.yaml", text: docs.join("---\n") }]);
  assert.ok(!hasErrors(diagnostics), diagnostics.map(formatDiagnostic).join("\n"));
  return rulesetState(compileRuleset(config, { layout: "port-map", profile }));
}

/** Both ways of comparing rules (canonical, as written) must plan the same. */
function planUpdate(a: ReturnType<typeof state>, b: ReturnType<typeof state>) {
  const side = (s: typeof a, how: "view" | "written"): PlanSide => (how === "view" ? viewSide(s.raw, s.view) : writtenSide(s.raw));
  const byView = plan(side(a, "view"), side(b, "view"));
  assert.deepEqual(plan(side(a, "written"), side(b, "written")), byView);
  return byView;
}

const verb = (c: unknown) => {
  const [v, body] = Object.entries(c as Record<string, Record<string, { name?: string; chain?: string }>>)[0]!;
  const [kind, o] = Object.entries(body)[0]!;
  return `${v} ${kind} ${o.name ?? o.chain}`;
};

const five = ["10.1.0.0/16", "10.3.0.0/16", "10.5.0.0/16", "10.7.0.0/16", "10.9.0.0/16"];

describe("planUpdate", () => {
  const a = doc("a", "22", ["10.0.0.0/8"]);
  const b = doc("b", "80", ["192.168.0.0/16"]);

  it("nothing to do between equal tables", () => {
    const s = state([mode("block"), a, b]);
    assert.deepEqual(planUpdate(s, s)?.commands, []);
  });

  it("a document's new sources: only its chain is flushed and refilled", () => {
    const plan = planUpdate(state([mode("block"), a, b]), state([mode("block"), a, doc("b", "80", ["192.168.1.0/24", "fd00::/8"])]));
    assert.deepEqual(plan?.commands.map(verb), ["flush chain r1", "add rule r1", "add rule r1"]);
    assert.deepEqual([plan?.chains, plan?.objects], [["r1"], []]);
  });

  it("a document's new port: map elements deleted before added, no chain touched", () => {
    const plan = planUpdate(state([mode("block"), a, b]), state([mode("block"), a, doc("b", "80-81", ["192.168.0.0/16"])]));
    assert.deepEqual(plan?.commands, [
      { delete: { element: { family: "inet", table: "talos", name: "p6_dports", elem: [80] } } },
      { add: { element: { family: "inet", table: "talos", name: "p6_dports", elem: [[{ range: [80, 81] }, { jump: { target: "r1" } }]] } } },
    ]);
    assert.deepEqual(plan?.chains, []);
  });

  it("a new document: its chain exists before the map jumps to it; a removed one is unreferenced before it goes", () => {
    const grow = planUpdate(state([mode("block"), a]), state([mode("block"), a, b]));
    assert.deepEqual(grow?.commands.map(verb), ["add chain r1", "add element p6_dports", "add rule r1"]);
    const shrink = planUpdate(state([mode("block"), a, b]), state([mode("block"), a]));
    assert.deepEqual(shrink?.commands.map(verb), ["delete element p6_dports", "flush chain r1", "delete chain r1"]);
    assert.deepEqual(shrink?.removedChains, ["r1"]);
  });

  it("a named set that comes and goes: created before the rule using it, deleted after the rule is flushed", () => {
    const small = state([mode("block"), a, b]);
    const big = state([mode("block"), a, doc("b", "80", five)]);
    assert.deepEqual(planUpdate(small, big)?.commands.map(verb), ["add set c0_v4", "flush chain r1", "add rule r1"]);
    assert.deepEqual(planUpdate(big, small)?.commands.map(verb), ["flush chain r1", "add rule r1", "delete set c0_v4"]);
    const bigger = state([mode("block"), a, doc("b", "80", [...five, "10.11.0.0/16"])]);
    assert.deepEqual(planUpdate(big, bigger)?.commands.map(verb), ["add element c0_v4"], "the set's elements change, its chain does not");
  });

  it("declines structural changes: the default action (base chain policy), the profile's chains", () => {
    assert.equal(planUpdate(state([mode("block"), a]), state([mode("accept"), a])), null);
    assert.equal(planUpdate(state([mode("block"), a]), state([mode("block"), a], "talos-1.7")), null);
  });
});
