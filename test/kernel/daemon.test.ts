// `ingressfw daemon` as a real process against a namespace: boot apply, directory edits (editor
// rename-replace, an invalid edit, a ConfigMap `..data` swap), drift repair, node-address changes, the
// API (permissions, malformed requests), the CLI going through the daemon, and SIGTERM leaving the
// ruleset. Every wait is bounded; the daemon is killed in `after` whatever happens.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";

import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { requestDaemon } from "../../src/daemon/client.js";
import { DaemonProcess, until } from "../support/daemon.js";
import { defaultActionYaml, nftIn, ruleYaml, runCli, yamlStream, workDir } from "../support/lab.js";
import { createNetns, deleteNetns, kernelSkipReason } from "../support/netns.js";

const skip = kernelSkipReason();
const work = workDir("daemon", skip);

const NODE = "10.66.0.1";
const withoutCounters = (s: string) => s.replace(/counter packets \d+ bytes \d+/g, "counter");

/** The live table's listing, or null when it does not exist. */
function table(ns: string): string | null {
  try {
    return nftIn(ns, ["list", "table", "inet", "talos"]);
  } catch {
    return null;
  }
}

/** Replace a file the way editors do: write a temporary file beside it, rename it over the original. */
function writeLikeAnEditor(file: string, text: string): void {
  const tmp = join(join(file, ".."), `.${Date.now()}.swp`);
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

const kubelet = (port: number) => ruleYaml("kubelet", "tcp", [port], [{ subnet: "10.0.0.0/8" }]);

describe("ingressfw daemon", { skip }, () => {
  let ns: string;
  let conf: string;
  let stateDir: string;
  let socket: string;
  let daemon: DaemonProcess;
  /** The ConfigMap-style part of the directory: rules.yaml -> ..data/rules.yaml. */
  let generation = 0;

  const swapConfigMap = (text: string) => {
    const gen = `..2025_01_01_00_00_0${++generation}.${process.pid}`;
    mkdirSync(join(conf, gen));
    writeFileSync(join(conf, gen, "rules.yaml"), text);
    symlinkSync(gen, join(conf, "..data_tmp"));
    renameSync(join(conf, "..data_tmp"), join(conf, "..data"));
  };

  const start = async () => {
    // The default socket (/run/ingressfw/<netns>.sock): the CLI finds the daemon without flags.
    daemon = DaemonProcess.start(["--config", conf, "--netns", ns, "--state-dir", stateDir, "--layout", "per-rule"]);
    await daemon.waitForEvent("started");
  };

  before(() => {
    ns = createNetns("dmn");
    execFileSync("ip", ["-n", ns, "link", "add", "e0", "type", "veth", "peer", "name", "e1"]);
    for (const dev of ["e0", "e1"]) execFileSync("ip", ["-n", ns, "link", "set", dev, "up"]);
    execFileSync("ip", ["-n", ns, "addr", "add", `${NODE}/24`, "dev", "e0"]);
    conf = join(work, "conf");
    stateDir = join(work, "state");
    socket = `/run/ingressfw/${ns}.sock`;
    mkdirSync(conf);
    writeFileSync(join(conf, "00-default.yaml"), defaultActionYaml("block"));
    swapConfigMap(kubelet(10250));
    symlinkSync("..data/rules.yaml", join(conf, "rules.yaml"));
  });
  after(async () => {
    await daemon?.stop("SIGKILL");
    // a daemon killed with SIGKILL leaves its socket behind
    if (socket) rmSync(socket, { force: true });
    deleteNetns(ns);
  });

  it("on start, with nothing confirmed, applies the directory and serves a root-only socket", async () => {
    await start();
    const applied = await daemon.waitForEvent("config-applied");
    assert.match(applied.message, /^applied table inet talos from /);
    const listing = table(ns);
    assert.ok(listing, "the table exists");
    assert.match(listing, /ip saddr 10\.0\.0\.0\/8 tcp dport 10250 counter packets \d+ bytes \d+ accept/);
    assert.match(listing, new RegExp(`ip daddr != ${NODE.replace(/\./g, "\\.")} counter`));
    assert.ok(lstatSync(socket).isSocket());
    assert.equal(statSync(socket).mode & 0o777, 0o600);
    assert.equal(statSync(socket).uid, 0);
    assert.equal(statSync("/run/ingressfw").mode & 0o777, 0o700);
    const confirmed = JSON.parse(readFileSync(join(stateDir, "confirmed.json"), "utf8")) as { config: { sources: { file: string }[] } };
    assert.deepEqual(
      confirmed.config.sources.map((s) => s.file),
      [join(conf, "00-default.yaml"), join(conf, "rules.yaml")],
    );
  });

  it("applies an editor's rename-replace edit within 1 s", async () => {
    const before = daemon.count("config-applied");
    const written = Date.now();
    writeLikeAnEditor(join(conf, "00-default.yaml"), yamlStream([defaultActionYaml("block"), ruleYaml("apid", "tcp", [50000], [{ subnet: "10.0.0.0/8" }])]));
    await until("tcp dport 50000 in the table", () => /tcp dport 50000 /.test(table(ns) ?? ""), 1000, 20);
    const latency = Date.now() - written;
    await daemon.waitForEvent("config-applied", () => true, 5000, before);
    assert.ok(latency <= 1000, `applied after ${latency} ms`);
  });

  it("refuses an invalid edit: the old ruleset stays, the error is logged and in the status", async () => {
    const listing = withoutCounters(table(ns)!);
    const confirmed = readFileSync(join(stateDir, "confirmed.json"), "utf8");
    writeLikeAnEditor(join(conf, "00-default.yaml"), `${defaultActionYaml("block")}---\n${ruleYaml("apid", "tcp", ["70000"], [{ subnet: "10.0.0.0/8" }])}`);
    const refused = await daemon.waitForEvent("config-invalid");
    assert.match(refused.message, /invalid configuration \(1 error\(s\)\): not applied, the running ruleset is kept/);
    const diag = await daemon.waitForEvent("config-diagnostic", (e) => e.level === "error");
    assert.match(diag.message, /00-default\.yaml:\d+:\d+: error: NetworkRuleConfig\/apid: invalid port range: "70000"/);
    // a few reconcile rounds later, nothing has changed
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(withoutCounters(table(ns)!), listing);
    assert.equal(readFileSync(join(stateDir, "confirmed.json"), "utf8"), confirmed);
    const status = await requestDaemon(socket, "GET", "/v1/status");
    const problem = (status.body as { configDir: { problem: { message: string; diagnostics: { text: string }[] } | null } }).configDir.problem;
    assert.ok(problem);
    assert.match(problem.diagnostics[0]!.text, /00-default\.yaml:\d+:\d+: error: .*"70000"/);
    // the CLI's status shows it too
    const cli = await runCli(["status", "--netns", ns, "--state-dir", stateDir]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /configuration directory not applied .*invalid configuration/);
    assert.match(cli.stdout, /^ {4}.*00-default\.yaml:\d+:\d+: error: .*"70000"/m);
  });

  it("picks up a ConfigMap-style ..data symlink swap (and a fixed file clears the error)", async () => {
    const applied = daemon.count("config-applied");
    writeLikeAnEditor(join(conf, "00-default.yaml"), defaultActionYaml("block"));
    swapConfigMap(kubelet(10255));
    await until("tcp dport 10255 in the table", () => /tcp dport 10255 /.test(table(ns) ?? ""), 5000);
    // the kernel changes before the daemon records the apply: wait for its log line
    await until("the apply logged", () => daemon.count("config-applied") > applied, 5000);
    const status = await requestDaemon(socket, "GET", "/v1/status");
    assert.equal((status.body as { configDir: { problem: unknown } }).configDir.problem, null);
    assert.doesNotMatch(table(ns)!, /dport 10250 /);
  });

  it("repairs drift: a table deleted or changed by hand is re-applied", async () => {
    const expected = withoutCounters(table(ns)!);
    nftIn(ns, ["delete", "table", "inet", "talos"]);
    const removed = await daemon.waitForEvent("drift-repaired", (e) => /was removed/.test(e.message));
    assert.match(removed.message, /table inet talos in network namespace "dmn-[^"]+" was removed: re-applied the confirmed configuration/);
    await until("the table back", () => table(ns) !== null && withoutCounters(table(ns)!) === expected, 5000);
    nftIn(ns, ["add", "rule", "inet", "talos", "ingress", "tcp", "dport", "4444", "accept"]);
    await daemon.waitForEvent("drift-repaired", (e) => /was changed/.test(e.message));
    await until("the added rule gone", () => withoutCounters(table(ns) ?? "") === expected, 5000);
  });

  it("re-renders the prerouting chain when a node address is added or removed", async () => {
    execFileSync("ip", ["-n", ns, "addr", "add", "10.66.0.7/24", "dev", "e0"]);
    await until("the new address in the prerouting chain", () => /ip daddr != \{ 10\.66\.0\.1, 10\.66\.0\.7 \}/.test(table(ns) ?? ""), 10_000);
    const e = await daemon.waitForEvent("addresses-changed");
    assert.match(e.message, /node addresses are now 10\.66\.0\.1, 10\.66\.0\.7: prerouting chain re-rendered/);
    execFileSync("ip", ["-n", ns, "addr", "del", "10.66.0.7/24", "dev", "e0"]);
    await until("the address gone from the prerouting chain", () => /ip daddr != 10\.66\.0\.1 counter/.test(table(ns) ?? ""), 10_000);
    await daemon.waitForEvent("addresses-changed", () => true, 5000, 1);
    // state.json follows, so `status` shows no drift
    const cli = await runCli(["status", "--netns", ns, "--output", "json"]);
    assert.equal(cli.code, 0, cli.stderr);
    const report = JSON.parse(cli.stdout) as { drift: { drifted: boolean }; daemon: { daemon: { pid: number } } };
    assert.equal(report.drift.drifted, false);
    assert.equal(report.daemon.daemon.pid, daemon.pid);
  });

  it("malformed API requests get a 4xx with a message and change nothing", async () => {
    const listing = withoutCounters(table(ns)!);
    const files = ["confirmed.json", "state.json"].map((f) => readFileSync(join(stateDir, f), "utf8"));
    const cases: [string, unknown, number][] = [
      ["/v1/apply", undefined, 400],
      ["/v1/apply", { config: 42 }, 400],
      ["/v1/apply", { config: "x", mode: "sometimes" }, 400],
      ["/v1/apply", { config: "x", mode: "try", timeout: "5 minutes" }, 400],
      ["/v1/apply", { config: "x", unexpected: true }, 400],
      ["/v1/confirm", { force: true }, 400],
      ["/v1/nowhere", {}, 404],
    ];
    for (const [path, body, status] of cases) {
      const r = await requestDaemon(socket, "POST", path, body);
      assert.equal(r.status, status, `${path} ${JSON.stringify(body)}`);
      assert.match((r.body as { error: string }).error, /\w/);
    }
    const invalid = await requestDaemon(socket, "POST", "/v1/apply", { config: ruleYaml("bad", "tcp", ["1-"], [{ subnet: "10.0.0.0/33" }]) });
    assert.equal(invalid.status, 422);
    const diags = (invalid.body as { diagnostics: { text: string }[] }).diagnostics;
    assert.ok(diags.length >= 1);
    assert.ok(
      diags.every((d) => /^<api>:\d+:\d+: /.test(d.text)),
      JSON.stringify(diags),
    );
    // confirm and rollback without a pending try: 409
    assert.equal((await requestDaemon(socket, "POST", "/v1/confirm")).status, 409);
    assert.equal((await requestDaemon(socket, "POST", "/v1/rollback")).status, 409);
    assert.equal(withoutCounters(table(ns)!), listing);
    assert.deepEqual(
      ["confirmed.json", "state.json"].map((f) => readFileSync(join(stateDir, f), "utf8")),
      files,
    );
  });

  it("the CLI goes through the daemon: apply, and status as a non-root user is refused (77)", async () => {
    const file = join(work, "via-cli.yaml");
    writeFileSync(file, yamlStream([defaultActionYaml("block"), kubelet(10256)]));
    const before = daemon.count("api-applied");
    const r = await runCli(["apply", "--netns", ns, "--state-dir", stateDir, "--layout", "per-rule", file]);
    assert.equal(r.code, 0, r.stderr);
    await daemon.waitForEvent("api-applied", () => true, 5000, before);
    assert.match(table(ns)!, /tcp dport 10256 /);
    const nobody = await runCli(["status", "--netns", ns], { asNobody: true });
    assert.equal(nobody.code, 77, nobody.stderr);
    assert.match(nobody.stderr, /no permission .*run as root/);
  });

  it("SIGTERM stops cleanly and leaves the ruleset; a restart over an unchanged directory keeps the API's configuration", async () => {
    const listing = withoutCounters(table(ns)!);
    assert.equal(await daemon.stop("SIGTERM"), 0);
    assert.equal(daemon.count("stopped"), 1);
    assert.equal(withoutCounters(table(ns)!), listing);
    assert.equal(existsSync(socket), false, "the socket is removed");
    // nothing enforces now: a deletion stays deleted
    nftIn(ns, ["delete", "table", "inet", "talos"]);
    await start();
    const boot = await daemon.waitForEvent("boot-applied");
    assert.match(boot.message, /^applied the confirmed configuration \(.*via-cli\.yaml\)/);
    await daemon.waitForEvent("config-unchanged");
    assert.match(table(ns)!, /tcp dport 10256 /);
  });
});
