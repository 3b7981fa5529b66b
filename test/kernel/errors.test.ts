// Failure paths: kernel rejections leave the previous table in place (and name the document behind
// the refused rule), no permission → 77, nft missing → 69, unknown namespace → 64.
import assert from "node:assert/strict";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";

import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { checkInput } from "../../src/cli/load-input.js";
import { compileRuleset } from "../../src/compile/index.js";
import type { Ruleset } from "../../src/compile/ruleset.js";
import { applyRuleset } from "../../src/kernel/apply.js";
import { KernelError } from "../../src/kernel/exec.js";
import { kernelSkipReason } from "../support/netns.js";
import { CLIENT_V4 as C, createLab, defaultActionYaml, nftIn, ruleYaml, runCli, yamlStream, type Lab, workDir } from "../support/lab.js";

const skip = kernelSkipReason();
const work = workDir("errors", skip);

/** The table with rule handles, counter values masked: equal before/after means the same kernel objects. */
const tableWithHandles = (netns: string) => nftIn(netns, ["-a", "list", "table", "inet", "talos"]).replace(/counter packets \d+ bytes \d+/g, "counter");

describe("errors", { skip }, () => {
  let lab: Lab;
  let config: string;
  let stateDir: string;

  before(async () => {
    lab = createLab("k3e");
    chmodSync(work, 0o755); // readable by the unprivileged user of the not-root test
    stateDir = join(work, "state");
    config = join(work, "rules.yaml");
    writeFileSync(
      config,
      yamlStream([
        defaultActionYaml("block"),
        ruleYaml("first", "tcp", [7001], [{ subnet: `${C[0]}/32` }]),
        ruleYaml("second", "tcp", [7002], [{ subnet: `${C[0]}/32` }]),
      ]),
    );
    const r = await runCli(["apply", "--netns", lab.server, "--state-dir", stateDir, config]);
    assert.equal(r.code, 0, r.stderr);
  });
  after(() => lab?.close());

  it("a rule the kernel refuses: nothing changes and the message names the document", async () => {
    const before = tableWithHandles(lab.server);
    const { config: cfg } = checkInput([config], { profile: "talos" });
    const rs = compileRuleset(cfg, { profile: "talos", nodeAddresses: null });
    // A limit of 0 packets/second passes nft but the kernel refuses it (EINVAL) — a real kernel rejection
    // in the middle of the transaction, after the table was deleted and re-created in it.
    const refused: Ruleset = {
      ...rs,
      chains: rs.chains.map((c) => ({
        ...c,
        rules: c.rules.map((r) =>
          r.origin.kind === "rule" && r.origin.name === "second" ? { ...r, exprs: [{ type: "limit" as const, rate: 0, burst: 5 }, ...r.exprs] } : r,
        ),
      })),
    };
    await assert.rejects(applyRuleset({ netns: lab.server }, refused), (e: unknown) => {
      assert.ok(e instanceof KernelError);
      assert.equal(e.kind, "rejected");
      assert.match(e.message, /^the kernel rejected the ruleset for network namespace "k3es-[^"]+": Could not process rule: Invalid argument/);
      assert.match(e.message, /\(rule 8 of chain ingress, from NetworkRuleConfig\/second at .*rules\.yaml:\d+:\d+\); table inet talos is unchanged$/);
      return true;
    });
    assert.equal(tableWithHandles(lab.server), before);
  });

  it("a table owned by another process: exit 1, the owner's table stays", async () => {
    const ns = lab.client;
    const holder: ChildProcess = spawn("ip", ["netns", "exec", ns, "nft", "-i"], { stdio: ["pipe", "ignore", "ignore"] });
    try {
      holder.stdin!.write("add table inet talos { flags owner; }\n");
      let listed = "";
      for (let i = 0; i < 50 && !listed.includes("flags owner"); i++) {
        await new Promise((r) => setTimeout(r, 100));
        listed = nftIn(ns, ["list", "ruleset"]);
      }
      assert.match(listed, /flags owner/);
      const r = await runCli(["apply", "--netns", ns, "--state-dir", join(work, "owned"), config]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(
        r.stderr,
        /^ingressfw: the kernel refused the change in network namespace "k3ec-[^"]+" \(Operation not permitted although ingressfw has CAP_NET_ADMIN\): the table is probably owned by another process/m,
      );
      assert.equal(
        r.stderr
          .trim()
          .split("\n")
          .filter((l) => l.startsWith("ingressfw:")).length,
        1,
        "one line",
      );
      assert.equal(nftIn(ns, ["list", "ruleset"]), listed);
    } finally {
      holder.stdin!.end();
      holder.kill();
    }
  });

  it("not root: exit 77 for apply, diff, status and remove", async () => {
    const commands = [
      ["apply", "--netns", lab.server, "--state-dir", join(work, "nobody"), config],
      ["diff", "--netns", lab.server, config],
      ["status", "--netns", lab.server, "--state-dir", join(work, "nobody")],
      ["remove", "--netns", lab.server, "--state-dir", join(work, "nobody")],
    ];
    const results = await Promise.all(commands.map((args) => runCli(args, { asNobody: true })));
    results.forEach((r, i) => {
      assert.equal(r.code, 77, `${commands[i]![0]}: ${r.stderr}`);
      assert.match(r.stderr, /^ingressfw: no permission to use nftables in network namespace "k3es-[^"]+": run as root \(needs CAP_NET_ADMIN\)$/m);
    });
    assert.match(nftIn(lab.server, ["list", "table", "inet", "talos"]), /7002 : jump r1/, "the table is still there");
  });

  it("nft missing: exit 69 with the install hint", async () => {
    // A PATH with ip but without nft (node itself is started by absolute path).
    const bin = join(work, "bin-without-nft");
    mkdirSync(bin);
    symlinkSync(execFileSync("sh", ["-c", "command -v ip"], { encoding: "utf8" }).trim(), join(bin, "ip"));
    const r = await runCli(["apply", "--netns", lab.server, "--state-dir", join(work, "no-nft"), config], { env: { PATH: bin } });
    assert.equal(r.code, 69, r.stderr);
    assert.match(r.stderr, /^ingressfw: nft not found: install nftables \(Debian\/Ubuntu: apt-get install nftables\)$/m);
  });

  it("unknown namespace: exit 64 with a clear message", async () => {
    const commands = [["apply", config], ["diff", config], ["status"], ["remove"]];
    const results = await Promise.all(commands.map((cmd) => runCli([cmd[0]!, "--netns", "k3-no-such-namespace", ...cmd.slice(1)])));
    for (const r of results) {
      assert.equal(r.code, 64, r.stderr);
      assert.equal(r.stderr, `ingressfw: unknown network namespace "k3-no-such-namespace" (see 'ip netns list')\n`);
    }
  });
});
