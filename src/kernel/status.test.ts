import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadConfig } from "../config/load.js";
import { compileRuleset } from "../compile/index.js";
import { buildStatus } from "./status.js";
import { newState } from "./state.js";

const sources = [
  {
    file: "rules.yaml",
    text: "apiVersion: v1alpha1\nkind: NetworkRuleConfig\nname: web\nportSelector: {ports: [80], protocol: tcp}\ningress: [{subnet: 10.0.0.0/8}, {subnet: ::/0}]\n",
  },
];
const { config } = loadConfig(sources);
const ruleset = compileRuleset(config, { nodeAddresses: null });
const state = newState({ target: { netns: "n" }, sources, ruleset, nodeAddresses: null, nodeAddressSource: "none", appliedAt: new Date(0) });

/** What `nft -j list ruleset` would print for the applied transaction, rules carrying counters. */
function listingOf(extraRules: unknown[] = []) {
  let handle = 1;
  const out: unknown[] = [{ metainfo: { version: "1.0.6" } }];
  for (const cmd of state.ruleset.transaction.nftables as { add?: Record<string, Record<string, unknown>> }[]) {
    if (!cmd.add) continue;
    const [kind, body] = Object.entries(cmd.add)[0]!;
    if (kind === "table" && out.some((o) => "table" in (o as object))) continue;
    if (kind === "rule") {
      const expr = (body.expr as unknown[]).map((e) =>
        (e as { counter?: unknown }).counter === null ? { counter: { packets: handle, bytes: 100 * handle } } : e,
      );
      out.push({ rule: { ...body, handle: handle++, expr } });
    } else out.push({ [kind]: { ...body, handle: handle++ } });
  }
  return [...out, ...extraRules] as Record<string, unknown>[];
}

describe("buildStatus", () => {
  it("attributes counters to documents and reports no drift when the table matches", () => {
    const r = buildStatus({
      target: { netns: "n" },
      family: "inet",
      table: "talos",
      listing: listingOf(),
      ruleTexts: new Map(),
      state,
      stateFile: "/s/state.json",
      stateProblem: null,
    });
    assert.equal(r.table.present, true);
    assert.equal(r.drift?.drifted, false);
    assert.deepEqual(
      r.rules.map((x) => [x.chain, x.index, x.origin, x.packets]),
      [
        ["ingress", 1, "trusted-interfaces", 3],
        ["ingress", 2, "conntrack-established", 4],
        ["ingress", 3, "conntrack-invalid", 5],
        ["ingress", 4, "NetworkRuleConfig/web", 6],
      ],
    );
    assert.deepEqual(r.documents.at(-1), {
      origin: "NetworkRuleConfig/web",
      pos: { file: "rules.yaml", line: 1, col: 1 },
      kernelRules: 1,
      packets: 6,
      bytes: 600,
    });
  });

  it("shows a foreign rule as drift, unattributed, and keeps the others attributed", () => {
    const foreign = { rule: { family: "inet", table: "talos", chain: "ingress", handle: 99, expr: [{ accept: null }] } };
    const r = buildStatus({
      target: {},
      family: "inet",
      table: "talos",
      listing: listingOf([foreign]),
      ruleTexts: new Map([[99, "accept"]]),
      state,
      stateFile: "/s",
      stateProblem: null,
    });
    assert.equal(r.drift?.drifted, true);
    assert.match(r.drift!.diff, /^\+ {4}accept$/m);
    assert.deepEqual(r.rules.at(-1), { chain: "ingress", index: 5, text: "accept", origin: null, pos: null, packets: null, bytes: null });
    assert.equal(r.rules[3]!.origin, "NetworkRuleConfig/web");
  });

  it("a missing table is drift when there is state, and no state means no drift verdict", () => {
    const absent = [{ metainfo: {} }];
    const withState = buildStatus({
      target: {},
      family: "inet",
      table: "talos",
      listing: absent,
      ruleTexts: new Map(),
      state,
      stateFile: "/s",
      stateProblem: null,
    });
    assert.equal(withState.table.present, false);
    assert.equal(withState.drift?.drifted, true);
    const without = buildStatus({
      target: {},
      family: "inet",
      table: "talos",
      listing: absent,
      ruleTexts: new Map(),
      state: null,
      stateFile: "/s",
      stateProblem: null,
    });
    assert.equal(without.drift, null);
    const otherTable = buildStatus({
      target: {},
      family: "inet",
      table: "other",
      listing: absent,
      ruleTexts: new Map(),
      state,
      stateFile: "/s",
      stateProblem: null,
    });
    assert.equal(otherTable.state, null);
    assert.equal(otherTable.stateProblem, "the state in /s is for table inet talos");
  });
});
