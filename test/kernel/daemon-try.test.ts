// Try mode under the daemon, with real processes: the daemon owns the rollback (no guardian while it
// runs), so a daemon killed with SIGKILL inside the window rolls back at once when restarted after the
// deadline; a confirm inside the window holds and survives a restart; a daemon stopped with SIGTERM
// hands a pending try to a guardian. Also: a socket at a custom path that a non-root user cannot use.
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { execFile } from "node:child_process";

import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { requestDaemon } from "../../src/daemon/client.js";
import { DaemonProcess, until } from "../support/daemon.js";
import { defaultActionYaml, nftIn, REPO_ROOT, ruleYaml, runCli, yamlStream, workDir } from "../support/lab.js";
import { createNetns, deleteNetns, kernelSkipReason } from "../support/netns.js";

const skip = kernelSkipReason();
const work = workDir("daemon-try", skip);

const config = (port: number) => yamlStream([defaultActionYaml("block"), ruleYaml("kubelet", "tcp", [port], [{ subnet: "10.0.0.0/8" }])]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function dport(ns: string): number | null {
  let listing: string;
  try {
    listing = nftIn(ns, ["list", "chain", "inet", "talos", "ingress"]);
  } catch {
    return null;
  }
  const m = /tcp dport (\d+) /.exec(listing);
  return m ? Number(m[1]) : null;
}

const alive = (pid: number) => existsSync(`/proc/${pid}`);

/** Connect to a unix socket as uid/gid 65534 (setpriv); resolves to "connected" or the error code. */
function connectAsNobody(socket: string): Promise<string> {
  const script = `require("net").connect(process.argv[1]).on("connect", () => { console.log("connected"); process.exit(0); }).on("error", (e) => { console.log(e.code); process.exit(0); })`;
  return new Promise((resolve, reject) => {
    execFile(
      "setpriv",
      ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, "-e", script, socket],
      { timeout: 10_000, cwd: REPO_ROOT },
      (err, stdout) => (err ? reject(err) : resolve(stdout.trim())),
    );
  });
}

describe("try mode under the daemon", { skip }, () => {
  let ns: string;
  let conf: string;
  let stateDir: string;
  let socket: string;
  let daemon: DaemonProcess;
  const guardians: number[] = [];

  const start = async () => {
    daemon = DaemonProcess.start(["--config", conf, "--netns", ns, "--state-dir", stateDir, "--socket", socket, "--layout", "per-rule"]);
    await daemon.waitForEvent("started");
  };
  const pendingFile = () => join(stateDir, "pending-try.json");

  before(() => {
    ns = createNetns("dmt");
    conf = join(work, "conf");
    stateDir = join(work, "state");
    // A world-traversable directory, so the socket's own mode is what keeps other users out.
    chmodSync(work, 0o755);
    mkdirSync(join(work, "run"), { mode: 0o755 });
    socket = join(work, "run", "daemon.sock");
    mkdirSync(conf);
    writeFileSync(join(conf, "rules.yaml"), config(10250));
  });
  after(async () => {
    await daemon?.stop("SIGKILL");
    for (const pid of guardians) if (alive(pid)) process.kill(pid, "SIGKILL");
    deleteNetns(ns);
  });

  it("the API socket at a custom path is 0600: a non-root user cannot connect", async () => {
    await start();
    assert.equal(dport(ns), 10250);
    assert.equal(await connectAsNobody(socket), "EACCES");
    const cli = await runCli(["confirm", "--netns", ns, "--socket", socket], { asNobody: true });
    assert.equal(cli.code, 77, cli.stderr);
  });

  it("a second daemon for the same target refuses to start (exit 1) and leaves the first one serving", async () => {
    const second = DaemonProcess.start(["--config", conf, "--netns", ns, "--state-dir", stateDir, "--socket", socket]);
    assert.equal(await second.waitForExit(), 1);
    assert.match(second.otherOutput.join("\n"), /another daemon \(pid \d+\) serves /);
    const elsewhere = DaemonProcess.start(["--config", conf, "--netns", ns, "--state-dir", join(work, "state2"), "--socket", socket]);
    assert.equal(await elsewhere.waitForExit(), 1);
    assert.match(elsewhere.otherOutput.join("\n"), /another daemon is already serving /);
    assert.equal((await requestDaemon(socket, "GET", "/v1/status")).status, 200);
  });

  it("a try whose daemon is killed with SIGKILL inside the window is rolled back at once when the daemon restarts after the deadline", async () => {
    const r = await requestDaemon(socket, "POST", "/v1/apply", { config: config(10260), mode: "try", timeout: "3s" });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const deadline = Date.parse((r.body as { pending: { deadline: string } }).pending.deadline);
    assert.equal(dport(ns), 10260);
    await daemon.stop("SIGKILL");
    // The daemon owned the rollback: no guardian was started, nothing rolls back while it is down.
    await sleep(Math.max(0, deadline - Date.now()) + 1500);
    assert.equal(dport(ns), 10260);
    assert.ok(existsSync(pendingFile()));
    await start();
    const rolled = daemon.events.findIndex((e) => e.event === "try-rollback" && /^rolled back /.test(e.message));
    const started = daemon.events.findIndex((e) => e.event === "started");
    assert.ok(rolled >= 0 && rolled < started, `rolled back during start-up: ${daemon.events.map((e) => e.event).join(", ")}`);
    assert.equal(dport(ns), 10250);
    assert.equal(existsSync(pendingFile()), false);
  });

  it("confirm inside the window (through the CLI): no rollback, and the confirmed configuration survives a restart", async () => {
    const file = join(work, "tried.yaml");
    writeFileSync(file, config(10261));
    const tried = await runCli([
      "apply",
      "--netns",
      ns,
      "--socket",
      socket,
      "--state-dir",
      stateDir,
      "--layout",
      "per-rule",
      "--mode",
      "try",
      "--timeout",
      "10s",
      file,
    ]);
    assert.equal(tried.code, 0, tried.stderr);
    assert.match(tried.stdout, /The config is applied in 'try' mode and will be automatically reverted back in 10s/);
    await daemon.waitForEvent("try-started");
    const deadline = Date.parse(JSON.parse(readFileSync(pendingFile(), "utf8")).deadline as string);
    const confirmed = await runCli(["confirm", "--netns", ns, "--socket", socket]);
    assert.equal(confirmed.code, 0, confirmed.stderr);
    await daemon.waitForEvent("try-confirmed");
    const rollbacks = daemon.count("try-rollback");
    await sleep(Math.max(0, deadline - Date.now()) + 1500);
    assert.equal(dport(ns), 10261);
    assert.equal(daemon.count("try-rollback"), rollbacks);
    assert.equal(await daemon.stop("SIGTERM"), 0);
    await start();
    const boot = await daemon.waitForEvent("boot-applied");
    assert.match(boot.message, /the confirmed configuration \(.*tried\.yaml\)/);
    await daemon.waitForEvent("config-unchanged");
    await sleep(1500);
    assert.equal(dport(ns), 10261);
  });

  it("status and rollback through the CLI: the daemon reports the pending try and rolls it back now", async () => {
    const file = join(work, "reverted.yaml");
    writeFileSync(file, config(10263));
    const tried = await runCli(["apply", "--netns", ns, "--socket", socket, "--layout", "per-rule", "--mode", "try", "--timeout", "1m", file]);
    assert.equal(tried.code, 0, tried.stderr);
    assert.equal(dport(ns), 10263);
    const status = await runCli(["status", "--netns", ns, "--socket", socket]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /^try pending: .*reverted\.yaml/m);
    assert.match(status.stdout, /^ {2}enforcing the pending try's configuration \(.*reverted\.yaml\)/m);
    assert.match(status.stdout, /^ {2}try rollback owned by this daemon$/m);
    const rolled = await runCli(["rollback", "--netns", ns, "--socket", socket]);
    assert.equal(rolled.code, 0, rolled.stderr);
    assert.match(rolled.stdout, /rolled back to the configuration confirmed at .*tried\.yaml/);
    assert.equal(dport(ns), 10261);
    assert.equal(existsSync(pendingFile()), false);
    const again = await runCli(["rollback", "--netns", ns, "--socket", socket]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /no try is pending/);
  });

  it("a daemon stopped with SIGTERM hands a pending try to a guardian, which rolls it back at the deadline", async () => {
    const r = await requestDaemon(socket, "POST", "/v1/apply", { config: config(10262), mode: "try", timeout: "4s" });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const deadline = Date.parse((r.body as { pending: { deadline: string } }).pending.deadline);
    assert.equal(dport(ns), 10262);
    assert.equal(await daemon.stop("SIGTERM"), 0);
    const handed = daemon.events.find((e) => e.event === "guardian-started");
    assert.ok(handed, daemon.events.map((e) => e.event).join(", "));
    const pid = Number(/guardian pid (\d+)/.exec(handed.message)?.[1]);
    guardians.push(pid);
    assert.ok(alive(pid));
    await until("the guardian's rollback", () => dport(ns) === 10261 && !existsSync(pendingFile()), Math.max(0, deadline - Date.now()) + 10_000);
    await until("the guardian to exit", () => !alive(pid), 10_000);
  });
});
