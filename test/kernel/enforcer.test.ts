// The daemon's enforcer after an in-place update from the table it knows (issue 6). Such an update is
// neither listed first nor read back (applyRuleset's `known`), so a change someone made where the update
// does not reach survives it; adopting the update makes the whole-table drift check due at once, even
// when the table is large enough for drift checks to be spaced out (DRIFT_CHECK_SHARE).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { applyConfirmed, prepareCandidate, type Candidate, type ConfigOptions } from "../../src/daemon/apply-config.js";
import { Enforcer } from "../../src/daemon/enforcer.js";
import { createLogger } from "../../src/daemon/log.js";
import { readTable, rulesetState } from "../../src/kernel/apply.js";
import { viewsEqual } from "../../src/kernel/table-view.js";
import { defaultActionYaml, nftIn, ruleYaml, workDir, yamlStream } from "../support/lab.js";
import { createNetns, deleteNetns, kernelSkipReason } from "../support/netns.js";

const skip = kernelSkipReason();

/** Enough documents that listing the table takes tens of ms, so drift checks are seconds apart. */
const DOCUMENTS = 400;
const OPTIONS: ConfigOptions = { profile: "talos", layout: "port-map", table: "talos", nodeAddresses: [] };

/** Document 0 admits five subnets (a named set in port-map); `lastSubnet` is its fifth. */
function configText(lastSubnet: string): string {
  const docs = [defaultActionYaml("block")];
  const first = ["172.16.0.0/24", "172.16.2.0/24", "172.16.4.0/24", "172.16.6.0/24", lastSubnet];
  docs.push(
    ruleYaml(
      "d0",
      "tcp",
      [20000],
      first.map((subnet) => ({ subnet })),
    ),
  );
  for (let i = 1; i < DOCUMENTS; i++) docs.push(ruleYaml(`d${i}`, "tcp", [20000 + i], [{ subnet: `10.${i >> 8}.${i & 255}.0/24` }]));
  return yamlStream(docs);
}

describe("enforcer after an update from its known table", { skip }, () => {
  const stateDir = workDir("enforcer", skip);
  let ns = "";
  before(() => {
    ns = createNetns("enf");
  });
  after(() => {
    if (ns) deleteNetns(ns);
  });

  it("checks the whole table at the next reconcile and repairs what the update did not reach", async () => {
    const target = { netns: ns };
    const candidate = (lastSubnet: string): Promise<Candidate> => prepareCandidate(target, [{ file: "rules.yaml", text: configText(lastSubnet) }], OPTIONS);
    const live = async () => (await readTable(target, "inet", "talos"))?.view ?? null;
    const first = await candidate("172.16.8.0/24");
    await applyConfirmed(target, stateDir, first);
    const enforcer = new Enforcer({ target, stateDir, log: createLogger("text", () => {}) });
    await enforcer.reconcile(true);

    // The drift check just ran: a hand change now waits for the next one, seconds away.
    nftIn(ns, ["add", "rule", "inet", "talos", "r1", "accept"]);
    await enforcer.reconcile();
    assert.ok(!viewsEqual(await live(), rulesetState(first.ruleset).view), "the hand-added rule is still there: no drift check yet");

    // Someone adds an element to the set the update changes; the update leaves it in place.
    const set = first.ruleset.sets?.find((s) => s.type === "ipv4_addr");
    assert.ok(set, "document 0's subnets are a named set");
    nftIn(ns, ["add", "element", "inet", "talos", set.name, "{ 192.0.2.0/24 }"]);
    const second = await candidate("172.16.10.0/24");
    const applied = await applyConfirmed(target, stateDir, second, { known: enforcer.knownTable() });
    assert.ok(applied.result.update, "updated in place from the known table");
    enforcer.adopt(second, "confirmed");
    assert.match(nftIn(ns, ["list", "set", "inet", "talos", set.name]), /192\.0\.2\.0\/24/, "the update did not reach the hand-added element");

    await enforcer.reconcile();
    assert.ok(viewsEqual(await live(), rulesetState(second.ruleset).view), "the next reconcile checked the whole table and repaired it");
    assert.equal(enforcer.stats().driftRepairs, 1);
  });
});
