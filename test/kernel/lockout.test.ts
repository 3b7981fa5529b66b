// The lock-out guard of `apply`, through the real CLI against a throwaway namespace that holds the
// "server" addresses: refusal (exit 3) naming the deciding rule or builtin, nothing applied, --force.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";

import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createNetns, deleteNetns, kernelSkipReason } from "../support/netns.js";
import { defaultActionYaml, nftIn, ruleYaml, runCli, type CliResult, workDir, writeConfig } from "../support/lab.js";

const skip = kernelSkipReason();
const work = workDir("lockout", skip);

const SERVER_V4 = "10.98.0.1";
const SERVER_V6 = "fd98::1";

/** stderr without the configuration's lint notes (they are file:line:col lines). */
const ownLines = (stderr: string) =>
  stderr
    .split("\n")
    .filter((l) => !/^\S+:\d+:\d+: /.test(l))
    .join("\n");

const configFile = (name: string, docs: readonly string[]) => writeConfig(work, name, docs);

describe("apply: lock-out guard", { skip }, () => {
  let ns = "";
  let block = "";
  let accept = "";
  /** The developer's own SSH session and keep-open list must not leak into these runs. */
  const apply = (env: NodeJS.ProcessEnv, ...args: string[]): Promise<CliResult> =>
    runCli(["apply", "--netns", ns, "--state-dir", join(work, "state"), ...args], { env: { SSH_CONNECTION: "", INGRESSFW_KEEP_OPEN: "", ...env } });
  const table = () => nftIn(ns, ["list", "ruleset"]);

  before(() => {
    ns = createNetns("k4lo");
    // A veth pair with both ends inside the namespace gives it its (node) addresses; no traffic is sent here.
    execFileSync("ip", ["-n", ns, "link", "add", "d0", "type", "veth", "peer", "name", "d1"]);
    execFileSync("ip", ["-n", ns, "link", "set", "d1", "up"]);
    execFileSync("ip", ["-n", ns, "addr", "add", `${SERVER_V4}/24`, "dev", "d0"]);
    execFileSync("ip", ["-n", ns, "addr", "add", `${SERVER_V6}/64`, "dev", "d0", "nodad"]);
    execFileSync("ip", ["-n", ns, "link", "set", "d0", "up"]);
    block = configFile("block", [defaultActionYaml("block"), ruleYaml("ssh-admins", "tcp", [22], [{ subnet: "10.98.1.0/24" }])]);
    accept = configFile("accept", [ruleYaml("ssh-admins", "tcp", [22], [{ subnet: "10.98.1.0/24" }, { subnet: "fd98::/64" }])]);
  });
  after(() => deleteNetns(ns));

  it("refuses (exit 3) a config that cuts the running SSH session, names the rule, applies nothing", async () => {
    const r = await apply({ SSH_CONNECTION: `10.98.2.7 40022 ${SERVER_V4} 22` }, block);
    assert.equal(r.code, 3, r.stderr);
    assert.equal(
      ownLines(r.stderr),
      `ingressfw: lock-out: the current SSH session (SSH_CONNECTION "10.98.2.7 40022 ${SERVER_V4} 22"): new tcp connections from 10.98.2.7 to ${SERVER_V4} port 22 would be dropped by rule 4 of chain prerouting, builtin new-tcp-drop: new TCP connections to a node address that no rule admits are dropped before DNAT (block mode)\n` +
        `ingressfw: refusing to apply to network namespace "${ns}": the candidate would drop 1 protected connection group(s) listed above; nothing was changed (--force applies anyway)\n`,
    );
    assert.equal(r.stdout, "");
    assert.equal(table(), "", "nothing was applied");
  });

  it("applies when a rule admits the SSH client, or when the session ends outside the namespace", async () => {
    const admitted = await apply({ SSH_CONNECTION: `10.98.1.7 40022 ${SERVER_V4} 22` }, block);
    assert.equal(admitted.code, 0, admitted.stderr);
    assert.match(table(), /elements = \{ 22 : jump r0 \}/); // the port-map layout, apply's default
    const elsewhere = await apply({ SSH_CONNECTION: "10.98.2.7 40022 192.0.2.50 22" }, accept);
    assert.equal(elsewhere.code, 0, elsewhere.stderr);
    assert.equal(elsewhere.stderr, "", "another namespace's session is not mentioned without --verbose");
  });

  it("refuses a --keep-open entry the candidate drops, naming the document and its file:line:col", async () => {
    nftIn(ns, ["flush", "ruleset"]);
    const r = await apply({}, "--keep-open", "tcp:10.98.0.0/16:22", "--keep-open", "tcp:[fd98::/64]:22", accept);
    assert.equal(r.code, 3, r.stderr);
    const lines = ownLines(r.stderr).trim().split("\n");
    assert.deepEqual(lines.slice(0, -1), [
      `ingressfw: lock-out: --keep-open tcp:10.98.0.0/16:22: new tcp connections from 10.98.0.0/24, 10.98.2.0-10.98.255.255 (part of 10.98.0.0/16) to ${SERVER_V4} port 22 would be dropped by rule 2 of chain prerouting → r0, NetworkRuleConfig/ssh-admins (${accept}:1:1)`,
    ]);
    assert.match(lines.at(-1)!, /^ingressfw: refusing to apply to network namespace "k4lo-[^"]+": the candidate would drop 1 protected/);
    assert.equal(table(), "");
  });

  it("--force applies anyway and warns with the same finding", async () => {
    const r = await apply({ INGRESSFW_KEEP_OPEN: "tcp:10.98.2.0/24:22" }, "--force", accept);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /^ingressfw: warning: --force: applying although --keep-open tcp:10\.98\.2\.0\/24:22: new tcp connections from 10\.98\.2\.0\/24 to 10\.98\.0\.1 port 22 would be dropped by rule 2 of chain prerouting → r0, NetworkRuleConfig\/ssh-admins /,
    );
    assert.match(r.stdout, /^applied table inet talos to network namespace/m);
    assert.match(table(), /elements = \{ 22 : jump r0 \}/); // the port-map layout, apply's default
  });

  it("reads --keep-open-file and INGRESSFW_KEEP_OPEN; bad entries are usage errors (64)", async () => {
    const keepFile = join(work, "keep-open.txt");
    writeFileSync(keepFile, "# admins\ntcp:10.98.1.0/24:22\n\nudp:[fd98::/64]:53 # dns\n");
    const ok = await apply({}, "--keep-open-file", keepFile, accept);
    assert.equal(ok.code, 0, ok.stderr);
    writeFileSync(keepFile, "tcp:10.98.1.0/24:22\ntcp:10.98.9.0/24:22\n");
    const cut = await apply({}, "--keep-open-file", keepFile, block);
    assert.equal(cut.code, 3, cut.stderr);
    assert.match(cut.stderr, /lock-out: --keep-open tcp:10\.98\.9\.0\/24:22: new tcp connections from 10\.98\.9\.0\/24 /);

    const badOption = await apply({}, "--keep-open", "icmp:0.0.0.0/0:0", accept);
    assert.equal(badOption.code, 64, badOption.stderr);
    assert.match(badOption.stderr, /--keep-open "icmp:0\.0\.0\.0\/0:0": protocol "icmp" is not tcp or udp/);
    writeFileSync(keepFile, "22\ntcp:10.98.1.0/24:\n");
    const badFile = await apply({}, "--keep-open-file", keepFile, accept);
    assert.equal(badFile.code, 64, badFile.stderr);
    assert.equal(badFile.stderr, `ingressfw: ${keepFile}:2: --keep-open "tcp:10.98.1.0/24:": port "" is not 0-65535\n`);
    const badEnv = await apply({ INGRESSFW_KEEP_OPEN: "tcp:22,tcp:10.98.1.0/40:22" }, accept);
    assert.equal(badEnv.code, 64, badEnv.stderr);
    assert.match(badEnv.stderr, /^ingressfw: INGRESSFW_KEEP_OPEN: --keep-open "tcp:10\.98\.1\.0\/40:22": .*prefix length out of range/);
  });
});
