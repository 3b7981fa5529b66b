// In-place updates in the kernel (issue 6): a changed configuration is applied as one transaction that
// touches only what differs. Shown with real traffic: untouched documents keep their counters, changed
// ones get their new verdicts; and, over random pairs of configurations, that updating A into B leaves
// exactly B's table — from a listing (the CLI's path) and from a known previous table (the daemon's),
// including when the known table is wrong because someone changed the kernel behind our back.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { formatDiagnostic, hasErrors } from "../../src/config/diagnostics.js";
import { loadConfig } from "../../src/config/load.js";
import { compileRuleset } from "../../src/compile/index.js";
import type { Ruleset } from "../../src/compile/ruleset.js";
import { applyRuleset, readTable, rulesetState, rulesetTable } from "../../src/kernel/apply.js";
import { viewsEqual } from "../../src/kernel/table-view.js";
import { compileSpec, configArb } from "../support/differential.js";
import { CLIENT_V4 as C, SERVER_V4 as S, createLab, defaultActionYaml, nftIn, ruleYaml, yamlStream, type Lab } from "../support/lab.js";
import { createNetns, deleteNetns, kernelSkipReason } from "../support/netns.js";

const skip = kernelSkipReason();

function portMap(docs: readonly string[]): Ruleset {
  const { config, diagnostics } = loadConfig([{ file: "update.yaml", text: yamlStream(docs) }]);
  assert.ok(!hasErrors(diagnostics), diagnostics.map(formatDiagnostic).join("\n"));
  return compileRuleset(config, { layout: "port-map", nodeAddresses: [] });
}

describe("in-place update with traffic", { skip }, () => {
  let lab: Lab;
  const target = () => ({ netns: lab.server });
  const packetsIn = async (chain: string) => {
    const live = await readTable(target(), "inet", "talos");
    return live!.raw.rules.filter((r) => r.chain === chain).reduce((n, r) => n + (r.packets ?? 0), 0);
  };
  const a = ruleYaml("a", "tcp", [7001], [{ subnet: `${C[0]}/32` }]);
  const b = (src: string, ports: (number | string)[] = [7002]) => ruleYaml("b", "tcp", ports, [{ subnet: `${src}/32` }]);

  before(async () => {
    lab = createLab("kup");
    for (const port of [7001, 7002, 7003]) await lab.serverAgent.listenTcp(port);
  });
  after(() => lab?.close());

  it("a changed document gets its new verdicts; an untouched one keeps its counter", async () => {
    const first = await applyRuleset(target(), portMap([defaultActionYaml("block"), a, b(C[1])]));
    assert.equal(first.update, undefined, "from no table: built whole");
    assert.equal(await lab.clientAgent.tcp(S, 7001, C[0]), "open");
    const counted = await packetsIn("r0");
    assert.ok(counted > 0, "a's chain counted the connection");

    const second = await applyRuleset(target(), portMap([defaultActionYaml("block"), a, b(C[2])]));
    assert.deepEqual(second.update, { commands: 2, chains: 1, sets: 0 }, "flush r1 and its one rule, nothing else");
    assert.equal(await packetsIn("r0"), counted, "a's counter is kept");
    assert.equal(await lab.clientAgent.tcp(S, 7002, C[2]), "open");
    assert.equal(await lab.clientAgent.tcp(S, 7002, C[1]), "timeout");
  });

  it("from a known table (the daemon's path): neither listed nor read back, the update is live", async () => {
    const rs = portMap([defaultActionYaml("block"), a, b(C[2])]);
    const next = portMap([defaultActionYaml("block"), a, b(C[2], [7002, 7003])]);
    const counted = await packetsIn("r0");
    const r = await applyRuleset(target(), next, { known: rulesetTable(rs) });
    assert.ok(r.update, "updated in place");
    assert.equal(await lab.clientAgent.tcp(S, 7003, C[2]), "open", "the new port element is live");
    assert.equal(await packetsIn("r0"), counted);
    assert.ok(viewsEqual((await readTable(target(), "inet", "talos"))!.view, rulesetState(next).view));
  });

  it("a known table that is wrong (changed behind our back) is noticed and the table still ends right", async () => {
    const known = portMap([defaultActionYaml("block"), a, b(C[2], [7002, 7003])]);
    nftIn(lab.server, ["delete", "element", "inet", "talos", "p6_dports", "{ 7002-7003 }"]);
    const next = portMap([defaultActionYaml("block"), a, b(C[3])]);
    await applyRuleset(target(), next, { known: rulesetTable(known) });
    assert.ok(viewsEqual((await readTable(target(), "inet", "talos"))!.view, rulesetState(next).view));
    assert.equal(await lab.clientAgent.tcp(S, 7002, C[3]), "open");
  });
});

describe("in-place update over random pairs of configurations", { skip }, () => {
  const netns = skip ? "" : createNetns("kupr");
  after(() => {
    if (netns) deleteNetns(netns);
  });

  it("updating A into B leaves B's table, from a listing and from a known table", async () => {
    const seed = Number(process.env.INGRESSFW_SEED ?? 20261128);
    // Mostly pairs that differ in documents only (what an edit does), some that differ in everything.
    const pairArb = fc.oneof(
      { weight: 3, arbitrary: fc.tuple(configArb, configArb).map(([x, y]) => [x, { ...x, rules: y.rules }] as const) },
      { weight: 1, arbitrary: fc.tuple(configArb, configArb) },
    );
    const pairs = fc.sample(pairArb, { seed, numRuns: 30 });
    const t = { netns };
    let listed = 0;
    let known = 0;
    for (const [x, y] of pairs) {
      const [ra, rb] = [compileSpec(x), compileSpec(y)];
      const where = `seed ${seed}\nA: ${JSON.stringify(x)}\nB: ${JSON.stringify(y)}`;
      await applyRuleset(t, ra);
      // applyRuleset reads the whole table back and throws unless it equals B.
      if ((await applyRuleset(t, rb)).update) listed++;
      const back = await applyRuleset(t, ra, { known: rulesetTable(rb) });
      if (back.update) known++;
      assert.ok(viewsEqual((await readTable(t, "inet", "talos"))?.view ?? null, rulesetState(ra).view), where);
    }
    assert.ok(listed >= 10 && known >= 10, `updates in place: ${listed} from a listing, ${known} from a known table (of ${pairs.length})`);
  });
});
