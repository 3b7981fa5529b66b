// apply / diff / status / remove against a namespace: outputs, exit codes, persisted state, drift,
// other chains that can still drop, and that nothing outside the target namespace changes.
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";

import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { readState } from "../../src/kernel/state.js";
import { kernelSkipReason } from "../support/netns.js";
import {
  CLIENT_V4 as C,
  CLIENT_V6 as C6,
  createLab,
  defaultActionYaml,
  listRuleset,
  nftIn,
  ruleYaml,
  runCli,
  yamlStream,
  type Lab,
  workDir,
  writeConfig,
} from "../support/lab.js";

const skip = kernelSkipReason();
const work = workDir("commands", skip);

const configFile = (name: string, docs: readonly string[]) => writeConfig(work, name, docs);

/** This suite checks the per-rule listing and attribution; the port-map default has test/kernel/port-map.test.ts. */
const PER_RULE = ["--layout", "per-rule"];

/** Counter values change with any stray packet; the rest of a listing must not. */
const withoutCounterValues = (s: string) => s.replace(/counter packets \d+ bytes \d+/g, "counter");

interface StatusJson {
  table: { present: boolean };
  state: { profile: string; layout: string; inputs: string[]; nodeAddresses: string[] | null; nodeAddressSource: string } | null;
  rules: { chain: string; index: number; origin: string | null; text: string; packets: number | null }[];
  drift: { drifted: boolean; diff: string } | null;
  otherChains: { family: string; table: string; chain: string; hook: string; dropReasons: string[] }[];
}

describe("apply, diff, status, remove", { skip }, () => {
  let lab: Lab;
  let stateDir: string;
  let base: string;
  let changed: string;
  const cli = (...args: string[]) => runCli(args);
  const status = async () => {
    const r = await cli("status", "--netns", lab.server, "--state-dir", stateDir, "--output", "json");
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as StatusJson;
  };
  let hostBefore = "";
  let clientBefore = "";

  before(() => {
    lab = createLab("k3c");
    stateDir = join(work, "state");
    const rules = [
      defaultActionYaml("block"),
      ruleYaml("apid", "tcp", [50000], [{ subnet: "10.77.0.0/24" }, { subnet: "fd00:77::/64" }]),
      ruleYaml("kubelet", "tcp", [10250], [{ subnet: `${C[0]}/32` }]),
    ];
    base = configFile("base", rules);
    changed = configFile("changed", [...rules, ruleYaml("etcd", "tcp", ["2379-2380"], [{ subnet: `${C6[1]}/128` }])]);
    hostBefore = withoutCounterValues(listRuleset(null));
    clientBefore = listRuleset(lab.client);
  });
  after(() => lab?.close());

  it("diff against a namespace without the table shows the whole candidate and exits 2", async () => {
    const r = await cli("diff", ...PER_RULE, "--netns", lab.server, base);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stdout, /^--- live: no table inet talos in network namespace "k3cs-[^"]+"\n\+\+\+ candidate: /);
    assert.match(r.stdout, /^@@ -0,0 \+1,\d+ @@$/m);
    assert.match(r.stdout, /^\+ {4}ip saddr \{ 10\.77\.0\.2 \} tcp dport \{ 10250 \} counter accept$/m);
  });

  it("status before any apply: table not present, no state", async () => {
    const s = await status();
    assert.equal(s.table.present, false);
    assert.equal(s.state, null);
    assert.equal(s.drift, null);
  });

  it("apply prints what it did and persists the state atomically", async () => {
    const r = await cli("apply", ...PER_RULE, "--netns", lab.server, "--state-dir", stateDir, base);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^node addresses \(discovered in network namespace "k3cs-[^"]+"\): 10\.77\.0\.1, fd00:77::1$/m);
    assert.match(
      r.stdout,
      /^applied table inet talos to network namespace "k3cs-[^"]+": ingress 9 rule\(s\), prerouting 8 rule\(s\); 17 rule\(s\) in one transaction, verified by read-back \(\d+ ms\)$/m,
    );
    const state = readState(stateDir);
    assert.ok(state);
    assert.equal(
      state.config,
      yamlStream([
        defaultActionYaml("block"),
        ruleYaml("apid", "tcp", [50000], [{ subnet: "10.77.0.0/24" }, { subnet: "fd00:77::/64" }]),
        ruleYaml("kubelet", "tcp", [10250], [{ subnet: `${C[0]}/32` }]),
      ]),
    );
    assert.deepEqual(state.inputs, [base]);
    assert.deepEqual(state.options, {
      profile: "talos",
      layout: "per-rule",
      table: "talos",
      nodeAddresses: ["10.77.0.1", "fd00:77::1"],
      nodeAddressSource: "discovered",
    });
    assert.deepEqual(readdirSync(stateDir).sort(), ["confirmed.json", "state.json"], "no temporary or lock file left behind");
    assert.equal(withoutCounterValues(listRuleset(null)), hostBefore, "the host's ruleset is unchanged");
    assert.equal(listRuleset(lab.client), clientBefore, "the client namespace's ruleset is unchanged");
  });

  it("diff of the applied configuration: exit 0, nothing on stdout", async () => {
    const r = await cli("diff", ...PER_RULE, "--netns", lab.server, base);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /no changes: table inet talos in network namespace .* already matches/);
  });

  it("diff of a changed configuration shows the added rules in nft text with context, exit 2", async () => {
    const r = await cli("diff", ...PER_RULE, "--netns", lab.server, changed);
    assert.equal(r.code, 2, r.stderr);
    const added = r.stdout.split("\n").filter((l) => l.startsWith("+") && !l.startsWith("+++"));
    assert.deepEqual(added, [
      "+    ip6 saddr { fd00:77::3 } tcp dport { 2379-2380 } counter accept",
      "+    ct state new ip6 saddr { fd00:77::3 } tcp dport { 2379-2380 } counter accept",
    ]);
    assert.ok(!r.stdout.split("\n").some((l) => l.startsWith("-") && !l.startsWith("---")), r.stdout);
    // context lines come from the live listing (nft spells a one-element set without braces)
    assert.match(r.stdout, /^ {5}ip saddr 10\.77\.0\.2 tcp dport 10250 counter accept$/m);
  });

  it("status maps counters to documents and reports no drift", async () => {
    assert.equal(await lab.clientAgent.tcp("10.77.0.1", 10250, C[1]), "timeout");
    const s = await status();
    assert.equal(s.table.present, true);
    assert.equal(s.state?.profile, "talos");
    assert.equal(s.drift?.drifted, false);
    const ingress = s.rules.filter((r) => r.chain === "ingress").map((r) => r.origin);
    assert.deepEqual(ingress, [
      "trusted-interfaces",
      "conntrack-established",
      "conntrack-invalid",
      "icmp-type-drop",
      "icmp-limit",
      "icmpv6-limit",
      "NetworkRuleConfig/apid",
      "NetworkRuleConfig/apid",
      "NetworkRuleConfig/kubelet",
    ]);
    // The dropped SYN from C1 to 10250 passed prerouting's kubelet rule (no match) and hit new-tcp-drop.
    const drop = s.rules.find((r) => r.chain === "prerouting" && r.origin === "new-tcp-drop");
    assert.ok(drop && (drop.packets ?? 0) > 0, JSON.stringify(drop));
    const text = await cli("status", "--netns", lab.server, "--state-dir", stateDir);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^drift: none/m);
    assert.match(text.stdout, /^ {2}NetworkRuleConfig\/kubelet \(.*base\.yaml:\d+:\d+\): \d+ packets, \d+ bytes \(2 kernel rule\(s\)\)$/m);
  });

  it("status shows drift and other base chains on the same hooks that can drop", async () => {
    nftIn(lab.server, ["insert", "rule", "inet", "talos", "ingress", "tcp", "dport", "22", "accept"]);
    nftIn(
      lab.server,
      ["-f", "-"],
      "table ip filter {\n chain INPUT { type filter hook input priority filter; policy drop; }\n chain FWD { type filter hook forward priority filter; policy drop; }\n}\n",
    );
    const s = await status();
    assert.equal(s.drift?.drifted, true);
    assert.match(s.drift!.diff, /^\+ {4}tcp dport 22 accept$/m);
    assert.deepEqual(s.rules.find((r) => r.text === "tcp dport 22 accept")?.origin, null);
    assert.equal(s.rules.filter((r) => r.origin === "NetworkRuleConfig/kubelet").length, 2, "the other rules are still attributed");
    assert.deepEqual(
      s.otherChains.map((c) => [c.family, c.table, c.chain, c.hook, c.dropReasons]),
      [["ip", "filter", "INPUT", "input", ["policy drop"]]],
    );
    nftIn(lab.server, ["delete", "table", "ip", "filter"]);
  });

  it("apply repairs drift; --node-address overrides discovery", async () => {
    const r = await cli("apply", ...PER_RULE, "--netns", lab.server, "--state-dir", stateDir, "--node-address", "10.77.0.99", base);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^node addresses \(given\): 10\.77\.0\.99$/m);
    assert.match(r.stdout, /^(applied|updated) /m, "drift repaired: rebuilt or updated in place");
    assert.match(nftIn(lab.server, ["list", "chain", "inet", "talos", "prerouting"]), /ip daddr != 10\.77\.0\.99 counter/);
    assert.doesNotMatch(nftIn(lab.server, ["list", "table", "inet", "talos"]), /dport 22/);
    assert.equal((await status()).drift?.drifted, false);
  });

  it("remove deletes the table and the state; a second remove says the table is absent", async () => {
    const r = await cli("remove", "--netns", lab.server, "--state-dir", stateDir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^removed table inet talos from network namespace "k3cs-[^"]+"\nremoved state in /);
    assert.equal(readState(stateDir), null);
    const again = await cli("remove", "--netns", lab.server, "--state-dir", stateDir);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^table inet talos is not present in network namespace "k3cs-[^"]+"; nothing to remove$/m);
    assert.equal((await status()).table.present, false);
  });

  it("never changed the host's ruleset or the other namespace's", () => {
    assert.equal(withoutCounterValues(listRuleset(null)), hostBefore);
    assert.equal(listRuleset(lab.client), clientBefore);
  });
});
