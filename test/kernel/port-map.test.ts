// The port-map layout in the kernel (issue 6): apply's default, read back and verified, listable with
// protocol-0 documents (nft 1.0.6), real traffic getting the documents' verdicts where they overlap,
// per-document counters in `status` (exact: the document that admitted or refused the packet), diff and
// drift down to set elements, accept mode, and talos-1.7 keeping the per-rule layout.
import assert from "node:assert/strict";

import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { readState } from "../../src/kernel/state.js";
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
  workDir,
  writeConfig,
} from "../support/lab.js";

const skip = kernelSkipReason();
const work = workDir("port-map", skip);

const configFile = (name: string, docs: readonly string[]) => writeConfig(work, name, docs);

/** A document without `protocol` (protocol 0, lint W002): it never matches a real packet, but must list. */
const protocolZeroYaml = `apiVersion: v1alpha1
kind: NetworkRuleConfig
name: no-protocol
portSelector:
  ports: [9, 100-200]
ingress:
  - subnet: 0.0.0.0/0
`;

interface DocumentJson {
  origin: string;
  kernelRules: number;
  packets: number;
}

interface StatusJson {
  state: { layout: string } | null;
  documents: DocumentJson[];
  drift: { drifted: boolean; diff: string } | null;
}

describe("port-map layout in the kernel", { skip }, () => {
  let lab: Lab;
  let stateDir: string;
  let block: string;
  const cli = (...args: string[]) => runCli(args);
  const status = async () => {
    const r = await cli("status", "--netns", lab.server, "--state-dir", stateDir, "--output", "json");
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as StatusJson;
  };
  const packetsOf = (s: StatusJson, doc: string) => s.documents.find((d) => d.origin === `NetworkRuleConfig/${doc}`)?.packets ?? 0;
  const a = [{ subnet: `${C[0]}/32` }, { subnet: `${C6[0]}/128` }];

  before(async () => {
    lab = createLab("k6p");
    stateDir = join(work, "state");
    for (const port of [7001, 7002, 7003]) await lab.serverAgent.listenTcp(port);
    // a and b overlap on 7002: there the source picks the document (o0), elsewhere each has its own ports.
    block = configFile("block", [
      defaultActionYaml("block"),
      ruleYaml("a", "tcp", [7001, "7002-7003"], a),
      ruleYaml("b", "tcp", [7002], [{ subnet: `${C[1]}/32` }]),
      protocolZeroYaml,
    ]);
  });
  after(() => lab?.close());

  it("apply without --layout uses port-map; the table verifies, lists (protocol 0 too) and the state says so", async () => {
    const r = await cli("apply", "--netns", lab.server, "--state-dir", stateDir, block);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^applied table inet talos to .*: ingress 8 rule\(s\), prerouting 7 rule\(s\) and \d+ regular chain\(s\); \d+ rule\(s\) in one transaction, verified by read-back/m,
    );
    assert.equal(readState(stateDir)?.options.layout, "port-map");
    const listing = nftIn(lab.server, ["list", "ruleset"]);
    assert.match(listing, /elements = \{ 7001 : jump r0, 7002 : jump o0, 7003 : jump r0 \}/);
    assert.match(listing, /meta l4proto ip jump p0\n/);
    assert.match(listing, /chain p0 \{\n\s+th dport vmap @p0_dports\n/);
    const again = await cli("apply", "--netns", lab.server, "--state-dir", stateDir, block);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^unchanged: /m);
  });

  it("real traffic gets each document's verdict; on the shared port a source either admits gets in", async () => {
    const probes: [string, number, "open" | "timeout"][] = [
      [C[0], 7001, "open"],
      [C[1], 7001, "timeout"],
      [C[0], 7002, "open"],
      [C[1], 7002, "open"],
      [C[2], 7002, "timeout"],
      [C[1], 7003, "timeout"],
      [C6[0], 7001, "open"],
      [C6[1], 7002, "timeout"],
    ];
    const got = await Promise.all(probes.map(([src, port]) => lab.clientAgent.tcp(src.includes(":") ? S6 : S, port, src)));
    assert.deepEqual(
      got.map((g, i) => `${probes[i]![0]}→${probes[i]![1]} ${g}`),
      probes.map(([src, port, want]) => `${src}→${port} ${want}`),
    );
  });

  it("status attributes each admitted connection to the document that admitted it", async () => {
    const before = await status();
    assert.equal(before.state?.layout, "port-map");
    assert.equal(before.drift?.drifted, false);
    const connections = 3;
    for (let i = 0; i < connections; i++) assert.equal(await lab.clientAgent.tcp(S, 7002, C[1]), "open");
    const after = await status();
    // Each connection's SYN passes prerouting and input: b's chains count it twice; a's never see it.
    assert.ok(packetsOf(after, "b") - packetsOf(before, "b") >= 2 * connections, JSON.stringify(after.documents));
    assert.equal(packetsOf(after, "a"), packetsOf(before, "a"), "a admitted none of them");
    assert.ok(packetsOf(after, "a") > 0, "a's earlier connections are counted for a");
    const text = await cli("status", "--netns", lab.server, "--state-dir", stateDir);
    assert.match(text.stdout, /^ {2}NetworkRuleConfig\/b \(.*block\.yaml:\d+:\d+\): \d+ packets, \d+ bytes \(\d+ kernel rule\(s\)\)$/m);
  });

  it("diff shows the rules and map elements a change touches (exit 2); drift shows an element added by hand", async () => {
    const changed = configFile("changed", [
      defaultActionYaml("block"),
      ruleYaml("a", "tcp", [7001, "7002-7003"], [...a, { subnet: `${C[3]}/32` }]),
      ruleYaml("b", "tcp", [7002], [{ subnet: `${C[1]}/32` }]),
      protocolZeroYaml,
    ]);
    const d = await cli("diff", "--netns", lab.server, changed);
    assert.equal(d.code, 2, d.stderr);
    assert.match(d.stdout, /^\+ {4}ip saddr 10\.77\.0\.5 counter accept$/m, "a's few sources are tested inline");
    assert.match(d.stdout, /^\+ {4}element 10\.77\.0\.5 : jump r0v$/m);
    assert.ok(!d.stdout.split("\n").some((l) => /^[-+] +(chain|map|set) /.test(l)), d.stdout);

    nftIn(lab.server, ["add", "element", "inet", "talos", "p6_dports", "{ 7010 : jump r0 }"]);
    const s = await status();
    assert.equal(s.drift?.drifted, true);
    assert.match(s.drift!.diff, /^\+ {4}element 7010 : jump r0$/m);
    nftIn(lab.server, ["delete", "element", "inet", "talos", "p6_dports", "{ 7010 }"]);
    assert.equal((await status()).drift?.drifted, false);
  });

  it("accept mode: a document's chain drops the sources it does not admit, counted for it; other ports stay open", async () => {
    const accept = configFile("accept", [ruleYaml("only-c0", "tcp", [7001], [{ subnet: `${C[0]}/32` }])]);
    const r = await cli("apply", "--netns", lab.server, "--state-dir", stateDir, accept);
    assert.equal(r.code, 0, r.stderr);
    assert.match(nftIn(lab.server, ["list", "chain", "inet", "talos", "r0"]), /ip saddr 10\.77\.0\.\d+ return\n\s+counter packets \d+ bytes \d+ drop\n/);
    const before = packetsOf(await status(), "only-c0");
    assert.equal(await lab.clientAgent.tcp(S, 7001, C[0]), "open");
    assert.equal(await lab.clientAgent.tcp(S, 7001, C[1]), "timeout");
    assert.equal(await lab.clientAgent.tcp(S6, 7001, C6[0]), "timeout", "no IPv6 subnet: all IPv6 is refused (truth table)");
    assert.equal(await lab.clientAgent.tcp(S, 7002, C[1]), "open", "unguarded port");
    assert.ok(packetsOf(await status(), "only-c0") - before >= 2, "the refused SYNs count for the document");
  });

  it("--profile talos-1.7 applies the per-rule layout unless --layout says otherwise", async () => {
    const r = await cli("apply", "--profile", "talos-1.7", "--netns", lab.server, "--state-dir", stateDir, block);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readState(stateDir)?.options.layout, "per-rule");
    assert.doesNotMatch(nftIn(lab.server, ["list", "table", "inet", "talos"]), /vmap/);
    const pm = await cli("apply", "--profile", "talos-1.7", "--layout", "port-map", "--netns", lab.server, "--state-dir", stateDir, block);
    assert.equal(pm.code, 0, pm.stderr);
    assert.equal(readState(stateDir)?.options.layout, "port-map");
    assert.match(nftIn(lab.server, ["list", "chain", "inet", "talos", "ingress"]), /tcp dport vmap @p6_dports/);
  });
});
