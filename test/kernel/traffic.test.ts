// Real traffic against rulesets applied with `ingressfw apply --netns`: block and accept modes, except,
// IPv6, port ranges, ICMP, conntrack replies, rules sharing a port (§5.8) and NodePort DNAT (§5.10).
import assert from "node:assert/strict";

import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { kernelSkipReason } from "../support/netns.js";
import {
  CLIENT_V4 as C,
  CLIENT_V6 as C6,
  SERVER_V4 as S,
  SERVER_V6 as S6,
  createLab,
  defaultActionYaml,
  nftIn,
  ruleYaml,
  runCli,
  type Lab,
  type ProbeResult,
  workDir,
  writeConfig,
} from "../support/lab.js";

const skip = kernelSkipReason();
const work = workDir("traffic", skip);

const configFile = (name: string, docs: readonly string[]) => writeConfig(work, name, docs);

async function apply(lab: Lab, file: string, ...extra: string[]): Promise<string> {
  const r = await runCli(["apply", "--netns", lab.server, "--state-dir", join(work, lab.server), ...extra, file]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

/** Probe many (label, promise) pairs at once and compare all outcomes in one assertion. */
async function expectProbes(cases: Record<string, [Promise<ProbeResult>, ProbeResult]>): Promise<void> {
  const labels = Object.keys(cases);
  const got = await Promise.all(labels.map((l) => cases[l]![0]));
  assert.deepEqual(Object.fromEntries(labels.map((l, i) => [l, got[i]])), Object.fromEntries(labels.map((l) => [l, cases[l]![1]])));
}

describe("block mode", { skip }, () => {
  let lab: Lab;
  before(async () => {
    lab = createLab("k3b");
    for (const p of [7001, 7002, 7099, 7100, 7105, 7110, 7111, 7300, 7400]) await lab.serverAgent.listenTcp(p);
    for (const p of [7200, 7201]) await lab.serverAgent.listenUdp(p);
    await lab.clientAgent.listenTcp(7500);
    const file = configFile("block", [
      defaultActionYaml("block"),
      ruleYaml("single-hosts", "tcp", [7001], [{ subnet: `${C[0]}/32` }, { subnet: `${C6[0]}/128` }]),
      ruleYaml("with-except", "tcp", [7002], [{ subnet: "10.77.0.0/24", except: `${C[1]}/32` }]),
      ruleYaml("port-range", "tcp", ["7100-7110"], [{ subnet: "10.77.0.0/24" }]),
      ruleYaml("udp-port", "udp", [7200], [{ subnet: "10.77.0.0/24" }]),
      ruleYaml("shared-a", "tcp", [7300], [{ subnet: `${C[0]}/32` }, { subnet: `${C[1]}/32` }]),
      ruleYaml("shared-b", "tcp", [7300], [{ subnet: `${C[1]}/32` }, { subnet: `${C[2]}/32` }]),
    ]);
    await apply(lab, file);
  });
  after(() => lab?.close());

  it("admits only the listed sources and ports (IPv4, IPv6, except, ranges, UDP)", async () => {
    const c = lab.clientAgent;
    await expectProbes({
      "7001 from C0": [c.tcp(S, 7001, C[0]), "open"],
      "7001 from C1": [c.tcp(S, 7001, C[1]), "timeout"],
      "7001 from C6[0]": [c.tcp(S6, 7001, C6[0]), "open"],
      "7001 from C6[1]": [c.tcp(S6, 7001, C6[1]), "timeout"],
      "7002 from C0": [c.tcp(S, 7002, C[0]), "open"],
      "7002 from C1 (except)": [c.tcp(S, 7002, C[1]), "timeout"],
      "7002 from C2": [c.tcp(S, 7002, C[2]), "open"],
      "7002 over IPv6 (no IPv6 subnet)": [c.tcp(S6, 7002, C6[0]), "timeout"],
      "7099 below the range": [c.tcp(S, 7099, C[0]), "timeout"],
      "7100 range start": [c.tcp(S, 7100, C[0]), "open"],
      "7105 inside": [c.tcp(S, 7105, C[0]), "open"],
      "7110 range end": [c.tcp(S, 7110, C[0]), "open"],
      "7111 above the range": [c.tcp(S, 7111, C[0]), "timeout"],
      "udp 7200": [c.udp(S, 7200, C[0]), "open"],
      "udp 7201 (no rule)": [c.udp(S, 7201, C[0]), "timeout"],
      "7400 (no rule)": [c.tcp(S, 7400, C[0]), "timeout"],
    });
  });

  it("takes the union of rules sharing a port (§5.8: a source allowed by either rule gets in)", async () => {
    const c = lab.clientAgent;
    await expectProbes({
      "C0 (shared-a only)": [c.tcp(S, 7300, C[0]), "open"],
      "C1 (both)": [c.tcp(S, 7300, C[1]), "open"],
      "C2 (shared-b only)": [c.tcp(S, 7300, C[2]), "open"],
      "C3 (neither)": [c.tcp(S, 7300, C[3]), "timeout"],
    });
  });

  it("lets ping in under the ICMP/ICMPv6 rate limit, which the listing shows with burst 5", () => {
    assert.ok(lab.ping(C[0], S), "IPv4 ping");
    assert.ok(lab.ping(C6[0], S6), "IPv6 ping");
    const text = nftIn(lab.server, ["list", "table", "inet", "talos"]);
    assert.match(text, /meta l4proto icmp limit rate 5\/second counter packets \d+ bytes \d+ accept/);
    assert.match(text, /meta l4proto ipv6-icmp limit rate 5\/second counter packets \d+ bytes \d+ accept/);
    const json = nftIn(lab.server, ["-j", "list", "chain", "inet", "talos", "ingress"]);
    assert.equal((json.match(/"limit": \{"rate": 5, "burst": 5, "per": "second"\}/g) ?? []).length, 2);
  });

  it("lets in replies to connections the server opened (conntrack established)", async () => {
    assert.equal(await lab.serverAgent.tcp(C[0], 7500, S), "open");
    assert.equal(await lab.serverAgent.tcp(C6[0], 7500, S6), "open");
  });
});

describe("accept mode", { skip }, () => {
  let lab: Lab;
  let file: string;
  before(async () => {
    lab = createLab("k3a");
    for (const p of [7001, 7002, 7099, 7100, 7105, 7110, 7111, 7300, 7400]) await lab.serverAgent.listenTcp(p);
    file = configFile("accept", [
      ruleYaml("v4-only", "tcp", [7001], [{ subnet: "10.77.0.0/24" }]),
      ruleYaml("with-except", "tcp", [7002], [{ subnet: "10.77.0.0/24", except: `${C[1]}/32` }, { subnet: "::/0" }]),
      ruleYaml("port-range", "tcp", ["7100-7110"], [{ subnet: `${C[0]}/32` }, { subnet: "::/0" }]),
      ruleYaml("shared-a", "tcp", [7300], [{ subnet: `${C[0]}/32` }, { subnet: `${C[1]}/32` }, { subnet: "::/0" }]),
      ruleYaml("shared-b", "tcp", [7300], [{ subnet: `${C[1]}/32` }, { subnet: `${C[2]}/32` }, { subnet: "::/0" }]),
    ]);
    await apply(lab, file);
  });
  after(() => lab?.close());

  it("drops only unlisted sources on guarded ports", async () => {
    const c = lab.clientAgent;
    await expectProbes({
      "7001 from C0": [c.tcp(S, 7001, C[0]), "open"],
      "7001 over IPv6 (rule has no IPv6 subnet)": [c.tcp(S6, 7001, C6[0]), "timeout"],
      "7002 from C0": [c.tcp(S, 7002, C[0]), "open"],
      "7002 from C1 (except)": [c.tcp(S, 7002, C[1]), "timeout"],
      "7002 over IPv6": [c.tcp(S6, 7002, C6[1]), "open"],
      "7099 from C1 (unguarded)": [c.tcp(S, 7099, C[1]), "open"],
      "7100 from C1": [c.tcp(S, 7100, C[1]), "timeout"],
      "7105 from C1": [c.tcp(S, 7105, C[1]), "timeout"],
      "7110 from C1": [c.tcp(S, 7110, C[1]), "timeout"],
      "7105 from C0": [c.tcp(S, 7105, C[0]), "open"],
      "7111 from C1 (unguarded)": [c.tcp(S, 7111, C[1]), "open"],
      "7400 (no rule)": [c.tcp(S, 7400, C[3]), "open"],
    });
  });

  it("takes the intersection of rules sharing a port (§5.8: a source must be allowed by every rule)", async () => {
    const c = lab.clientAgent;
    await expectProbes({
      "C0 (shared-a only)": [c.tcp(S, 7300, C[0]), "timeout"],
      "C1 (both)": [c.tcp(S, 7300, C[1]), "open"],
      "C2 (shared-b only)": [c.tcp(S, 7300, C[2]), "timeout"],
      "C3 (neither)": [c.tcp(S, 7300, C[3]), "timeout"],
    });
  });

  it("re-applying the same configuration sends nothing and keeps the counters", async () => {
    const counters = async () => {
      const r = await runCli(["status", "--netns", lab.server, "--state-dir", join(work, lab.server), "--output", "json"]);
      assert.equal(r.code, 0, r.stderr);
      const report = JSON.parse(r.stdout) as { documents: { origin: string; packets: number }[] };
      return report.documents.find((d) => d.origin === "NetworkRuleConfig/with-except")?.packets;
    };
    assert.equal(await lab.clientAgent.tcp(S, 7002, C[1]), "timeout");
    const before = await counters();
    assert.ok(before !== undefined && before > 0, `with-except counted ${before} packets`);
    const out = await apply(lab, file);
    assert.match(out, /^unchanged: table inet talos in network namespace .* nothing sent, counters kept/m);
    assert.equal(await counters(), before);
  });
});

describe("NodePort DNAT (prerouting chain, node addresses discovered)", { skip }, () => {
  let lab: Lab;
  let file: string;
  before(async () => {
    lab = createLab("k3n");
    await lab.serverAgent.listenTcp(8080);
    // What kube-proxy does for a NodePort: DNAT at priority dstnat (-100), after ingressfw's -110.
    nftIn(
      lab.server,
      ["-f", "-"],
      `table ip nat {\n chain prerouting {\n  type nat hook prerouting priority dstnat;\n  tcp dport 30080 dnat to ${S}:8080\n }\n}\n`,
    );
    file = configFile("nodeport", [ruleYaml("nodeport", "tcp", [30080], [{ subnet: `${C[0]}/32` }, { subnet: "::/0" }])]);
  });
  after(() => lab?.close());

  it("filters the NodePort by its original port before DNAT", async () => {
    const out = await apply(lab, file);
    assert.match(out, new RegExp(`node addresses \\(discovered in network namespace "${lab.server}"\\): ${S.replace(/\./g, "\\.")}, ${S6}\\n`));
    assert.match(nftIn(lab.server, ["list", "chain", "inet", "talos", "prerouting"]), new RegExp(`ip daddr != ${S.replace(/\./g, "\\.")} counter`));
    const c = lab.clientAgent;
    await expectProbes({
      "30080 from C0 (allowed)": [c.tcp(S, 30080, C[0]), "open"],
      "30080 from C1 (dropped in prerouting)": [c.tcp(S, 30080, C[1]), "timeout"],
      "8080 directly from C1 (unguarded port)": [c.tcp(S, 8080, C[1]), "open"],
    });
  });

  it("lets the NodePort through without the prerouting chain (talos-1.7 profile)", async () => {
    await apply(lab, file, "--profile", "talos-1.7");
    assert.equal(await lab.clientAgent.tcp(S, 30080, C[1]), "open");
  });
});
