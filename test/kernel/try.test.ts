// apply --mode try / confirm / rollback with real processes in throwaway namespaces: the rollback is
// owned by a detached guardian, so it happens when the CLI is killed with SIGKILL or its terminal goes
// away; confirm, a second try, a plain apply and a failing rollback behave as semantics §7 says.
// Terminals are pseudo-terminals from `script`. Every wait is bounded; guardians are killed at the end.
import assert from "node:assert/strict";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { GUARDIAN_LOCK_FILE, lockHolder } from "../../src/kernel/lock.js";
import { readConfirmed } from "../../src/kernel/state.js";
import { PENDING_TRY_FILE, readPendingTry } from "../../src/kernel/try-state.js";
import { parseAddress } from "../../src/net/address.js";
import { prepareCandidate } from "../../src/daemon/apply-config.js";
import { startTry } from "../../src/daemon/try.js";
import { REPO_ROOT, runCli, ruleYaml, yamlStream, defaultActionYaml } from "../support/lab.js";
import { createNetns, deleteNetns, kernelSkipReason } from "../support/netns.js";

const skip = kernelSkipReason();
const work = mkdtempSync(join(tmpdir(), "ingressfw-try-"));
const stateDirs: string[] = [];
const terminals = new Set<ChildProcess>();

/** Stop every guardian a test left: withdraw their pending tries (they exit), then kill what still holds a lock. */
function stopGuardians(): void {
  for (const dir of stateDirs) {
    rmSync(join(dir, PENDING_TRY_FILE), { force: true });
    const holder = lockHolder(join(dir, GUARDIAN_LOCK_FILE));
    if (holder) process.kill(holder.pid, "SIGKILL");
  }
  for (const t of terminals) t.kill("SIGKILL");
}
process.once("exit", stopGuardians);
after(() => {
  stopGuardians();
  rmSync(work, { recursive: true, force: true });
});

const config = (name: string, port: number) => {
  const file = join(work, `${name}.yaml`);
  writeFileSync(file, yamlStream([defaultActionYaml("block"), ruleYaml(`r${port}`, "tcp", [port], [{ subnet: "10.0.0.0/8" }, { subnet: "fd00::/8" }])]));
  return file;
};
const A = config("a", 51000);
const B = config("b", 52000);
const C = config("c", 53000);

async function until<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, limitMs: number, everyMs = 50): Promise<T> {
  const end = Date.now() + limitMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out after ${limitMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Our table's listing without counter values, or null when the namespace has no such table. */
function listing(ns: string): string | null {
  try {
    const text = execFileSync("ip", ["netns", "exec", ns, "nft", "list", "table", "inet", "talos"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 10_000,
    });
    return text.replace(/counter packets \d+ bytes \d+/g, "counter");
  } catch {
    return null;
  }
}

/** Which of the configurations' ports the listing names (whatever the rules' form: sets, maps). */
const ports = (text: string | null) => (text === null ? null : [...new Set([...text.matchAll(/\b(5[123]000)\b/g)].map((m) => Number(m[1])))]);

interface Setup {
  ns: string;
  dir: string;
  cli: (args: readonly string[], env?: NodeJS.ProcessEnv) => ReturnType<typeof runCli>;
}

function setup(name: string): Setup {
  const ns = createNetns("tfw");
  const dir = join(work, name);
  stateDirs.push(dir);
  return { ns, dir, cli: (args, env) => runCli([args[0]!, "--netns", ns, "--state-dir", dir, ...args.slice(1)], { env }) };
}

async function applyConfirmedA(s: Setup): Promise<string> {
  const r = await s.cli(["apply", A]);
  assert.equal(r.code, 0, r.stderr);
  return listing(s.ns)!;
}

interface Terminal {
  readonly child: ChildProcess;
  output(): string;
  /** The pid of the ingressfw CLI running in the terminal. */
  cliPid(): number;
  exited: Promise<void>;
}

/** Run the CLI in a pseudo-terminal (`script`), as a user at a terminal would. */
function inTerminal(args: readonly string[]): Terminal {
  const command = ["exec", process.execPath, "--import", "tsx", "src/cli/bin.ts", ...args].join(" ");
  const child = spawn("script", ["-qfec", command, "/dev/null"], { cwd: REPO_ROOT, env: { ...process.env, NO_COLOR: "1" }, stdio: ["pipe", "pipe", "pipe"] });
  terminals.add(child);
  let out = "";
  child.stdout!.on("data", (b: Buffer) => (out += b.toString()));
  child.stderr!.on("data", (b: Buffer) => (out += b.toString()));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  return {
    child,
    output: () => out,
    cliPid: () => Number(readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, "utf8").trim().split(/\s+/)[0]),
    exited,
  };
}

const deadlineOf = (dir: string) => Date.parse(readPendingTry(dir)!.deadline);

describe("apply --mode try: options", () => {
  it("rejects a bad or non-positive --timeout and --timeout without try (exit 64, nothing applied)", async () => {
    for (const [args, message] of [
      [["--mode", "try", "--timeout", "0s"], /the timeout must be positive, not 0s/],
      [["--mode", "try", "--timeout", "-1m"], /the timeout must be positive, not -1m0s/],
      [["--mode", "try", "--timeout", "1d"], /unknown unit "d" in duration "1d" \(Go syntax: 30s, 1m30s, 2h\)/],
      [["--mode", "try", "--timeout", "90"], /missing unit in duration "90"/],
      [["--timeout", "1m"], /--timeout is only for --mode try/],
      [["--mode", "maybe"], /expected one of: auto, try/],
    ] as const) {
      const r = await runCli(["apply", ...args, "--state-dir", join(work, "never"), A]);
      assert.equal(r.code, 64, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
    assert.equal(existsSync(join(work, "never")), false);
  });
});

describe("apply --mode try, confirm, rollback", { skip }, () => {
  it("try, then kill -9 the CLI: the table is back to the confirmed ruleset within 2 s after the deadline", async () => {
    const s = setup("kill");
    const confirmed = await applyConfirmedA(s);
    const term = inTerminal(["apply", "--mode", "try", "--timeout", "2s", "--prompt", "--netns", s.ns, "--state-dir", s.dir, B]);
    await until("the try prompt", () => term.output().includes("confirm now?"), 60_000);
    assert.match(term.output(), /The config is applied in 'try' mode and will be automatically reverted back in 2s/);
    assert.deepEqual(ports(listing(s.ns)), [52000], "the candidate is live");
    const deadline = deadlineOf(s.dir);
    process.kill(term.cliPid(), "SIGKILL");
    await term.exited;
    const back = await until("the rollback", () => listing(s.ns) === confirmed && Date.now(), deadline - Date.now() + 10_000, 20);
    assert.ok(back <= deadline + 2000, `rolled back ${back - deadline} ms after the deadline`);
    await until("the try to be withdrawn", () => readPendingTry(s.dir) === null, 5000);
    await until("the guardian to exit", () => lockHolder(join(s.dir, GUARDIAN_LOCK_FILE)) === null, 5000);
    assert.match(
      readFileSync(join(s.dir, "guard.log"), "utf8"),
      /rolling back the configuration\n.*rolled back network namespace .* to the configuration confirmed at /,
    );
    deleteNetns(s.ns);
  });

  it("closing the terminal (hangup) does not cancel the rollback either", async () => {
    const s = setup("hangup");
    const confirmed = await applyConfirmedA(s);
    const term = inTerminal(["apply", "--mode", "try", "--timeout", "2s", "--prompt", "--netns", s.ns, "--state-dir", s.dir, B]);
    await until("the try prompt", () => term.output().includes("confirm now?"), 60_000);
    const deadline = deadlineOf(s.dir);
    const cli = term.cliPid();
    term.child.kill("SIGKILL"); // the terminal goes away: the kernel hangs up its session
    await term.exited;
    await until("the CLI to die of the hangup", () => !existsSync(`/proc/${cli}`), 5000);
    const back = await until("the rollback", () => listing(s.ns) === confirmed && Date.now(), deadline - Date.now() + 10_000, 20);
    assert.ok(back <= deadline + 2000, `rolled back ${back - deadline} ms after the deadline`);
    deleteNetns(s.ns);
  });

  it("y at the prompt confirms", async () => {
    const s = setup("prompt");
    await applyConfirmedA(s);
    const term = inTerminal(["apply", "--mode", "try", "--timeout", "1m", "--prompt", "--netns", s.ns, "--state-dir", s.dir, B]);
    await until("the try prompt", () => term.output().includes("confirm now?"), 60_000);
    term.child.stdin!.write("y");
    await until("the confirmation", () => /confirmed in network namespace/.test(term.output()), 20_000);
    await term.exited;
    assert.equal(readPendingTry(s.dir), null);
    assert.deepEqual(
      readConfirmed(s.dir)?.config.sources.map((x) => x.file),
      [B],
    );
    deleteNetns(s.ns);
  });

  it("confirm inside the window: no rollback, the configuration is persisted as confirmed", async () => {
    const s = setup("confirm");
    await applyConfirmedA(s);
    const t = await s.cli(["apply", "--mode", "try", "--timeout", "8s", B]);
    assert.equal(t.code, 0, t.stderr);
    const deadline = deadlineOf(s.dir);
    const c = await s.cli(["confirm"]);
    assert.equal(c.code, 0, c.stderr);
    assert.match(
      c.stdout,
      new RegExp(`^confirmed in network namespace "${s.ns}": ${B} \\(table inet talos\\) is kept; the rollback due at \\S+ is cancelled$`, "m"),
    );
    const live = listing(s.ns);
    // Past the deadline and the guardian's next look at the (withdrawn) try.
    await new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now()) + 1500));
    assert.equal(listing(s.ns), live, "no rollback happened");
    assert.deepEqual(ports(live), [52000]);
    assert.deepEqual(
      readConfirmed(s.dir)?.config.sources.map((x) => x.file),
      [B],
    );
    await until("the guardian to exit", () => lockHolder(join(s.dir, GUARDIAN_LOCK_FILE)) === null, 5000);
    const st = await s.cli(["status", "--output", "json"]);
    const report = JSON.parse(st.stdout) as { pendingTry: unknown; confirmed: { inputs: string[] } };
    assert.equal(report.pendingTry, null);
    assert.deepEqual(report.confirmed.inputs, [B]);
    const again = await s.cli(["confirm"]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /no try is pending in network namespace .*: nothing to confirm/);
    deleteNetns(s.ns);
  });

  it("a second try inside the window: the rollback target stays the last confirmed state", async () => {
    const s = setup("second");
    const confirmed = await applyConfirmedA(s);
    assert.equal((await s.cli(["apply", "--mode", "try", "--timeout", "1m", B])).code, 0);
    const second = await s.cli(["apply", "--mode", "try", "--timeout", "8s", C]);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /^replaced the try started at \S+; the rollback target stays the last confirmed state$/m);
    assert.match(second.stdout, new RegExp(`^rollback at \\S+ to the configuration confirmed at \\S+ \\(${A}, table inet talos\\)$`, "m"));
    const st = await s.cli(["status", "--output", "json"]);
    const report = JSON.parse(st.stdout) as {
      pendingTry: { candidate: { inputs: string[] }; rollbackTarget: { inputs: string[] }; remainingMs: number; timeout: string };
    };
    assert.deepEqual(report.pendingTry.candidate.inputs, [C]);
    assert.deepEqual(report.pendingTry.rollbackTarget.inputs, [A]);
    assert.equal(report.pendingTry.timeout, "8s");
    assert.ok(report.pendingTry.remainingMs <= 8000);
    const text = await s.cli(["status"]);
    assert.match(text.stdout, new RegExp(`^try pending: ${C} \\(table inet talos\\), started \\S+, timeout 8s$`, "m"));
    assert.match(
      text.stdout,
      new RegExp(`^  rolls back at \\S+ \\((in [0-9.]+s|overdue by [0-9.]+s)\\) to the configuration confirmed at \\S+ \\(${A}\\)$`, "m"),
    );
    const deadline = deadlineOf(s.dir);
    const back = await until("the rollback", () => listing(s.ns) === confirmed && Date.now(), deadline - Date.now() + 10_000, 20);
    assert.ok(back >= deadline, "not before the second try's deadline");
    deleteNetns(s.ns);
  });

  it("a plain apply inside the window confirms its own configuration", async () => {
    const s = setup("plain");
    await applyConfirmedA(s);
    assert.equal((await s.cli(["apply", "--mode", "try", "--timeout", "8s", B])).code, 0);
    const deadline = deadlineOf(s.dir);
    const r = await s.cli(["apply", C]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^the pending try \(started \S+\) is cancelled: this configuration is the confirmed one now$/m);
    await new Promise((res) => setTimeout(res, Math.max(0, deadline - Date.now()) + 1500));
    assert.deepEqual(ports(listing(s.ns)), [53000]);
    assert.deepEqual(
      readConfirmed(s.dir)?.config.sources.map((x) => x.file),
      [C],
    );
    assert.equal(readPendingTry(s.dir), null);
    deleteNetns(s.ns);
  });

  it("rollback reverts at once; with nothing confirmed it removes the table", async () => {
    const s = setup("now");
    assert.equal((await s.cli(["apply", "--mode", "try", "--timeout", "1m", B])).code, 0);
    assert.deepEqual(ports(listing(s.ns)), [52000]);
    const r = await s.cli(["rollback"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^ingressfw: rolling back the configuration$/m);
    assert.match(r.stdout, /: rolled back: nothing was confirmed; removed table inet talos$/m);
    assert.equal(listing(s.ns), null);
    const again = await s.cli(["rollback"]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /nothing to roll back/);
    deleteNetns(s.ns);
  });

  it("a rollback failure is retried with backoff and shown by status with the last error", async () => {
    const s = setup("failing");
    const confirmed = await applyConfirmedA(s);
    // An nft in front of the real one that refuses changes while the flag file exists.
    const bin = join(work, "fake-bin");
    const flag = join(work, "nft-fails");
    mkdirSync(bin, { recursive: true });
    const realNft = execFileSync("sh", ["-c", "command -v nft"], { encoding: "utf8" }).trim();
    writeFileSync(
      join(bin, "nft"),
      `#!/bin/sh\nif [ -e ${flag} ]; then for a in "$@"; do case "$a" in -f|delete) echo "Error: injected rollback failure" >&2; exit 1;; esac; done; fi\nexec ${realNft} "$@"\n`,
    );
    chmodSync(join(bin, "nft"), 0o755);
    const env = { PATH: `${bin}:${process.env.PATH}` };
    const t = await s.cli(["apply", "--mode", "try", "--timeout", "2s", B], env); // the guardian inherits PATH
    assert.equal(t.code, 0, t.stderr);
    writeFileSync(flag, "");
    await until("two failed attempts", () => (readPendingTry(s.dir)?.rollback.attempts ?? 0) >= 2, 20_000);
    const st = await s.cli(["status", "--output", "json"], env);
    assert.equal(st.code, 0, st.stderr);
    const report = JSON.parse(st.stdout) as { pendingTry: { rollback: { attempts: number; lastError: string; nextAttemptAt: string } } };
    assert.ok(report.pendingTry.rollback.attempts >= 2);
    assert.match(report.pendingTry.rollback.lastError, /injected rollback failure/);
    const text = await s.cli(["status"], env);
    assert.match(text.stdout, /^ {2}rollback failed \d+ time\(s\), last at \S+: .*injected rollback failure.*; next attempt at \S+$/m);
    assert.deepEqual(ports(listing(s.ns)), [52000], "still the candidate");
    rmSync(flag);
    await until("the retried rollback", () => listing(s.ns) === confirmed && readPendingTry(s.dir) === null, 20_000);
    assert.match(readFileSync(join(s.dir, "guard.log"), "utf8"), /config rollback failed .*injected rollback failure/);
    deleteNetns(s.ns);
  });

  it("an overdue try nobody watched (its owner died) is rolled back by the next command", async () => {
    const s = setup("orphan");
    const confirmed = await applyConfirmedA(s);
    // The try as a daemon would start it, then the daemon dies: no guardian, no process owns it.
    const target = { netns: s.ns };
    const options = { profile: "talos", layout: "per-rule", table: "talos", nodeAddresses: [parseAddress("10.9.0.1")!] } as const;
    const candidate = await prepareCandidate(target, [{ file: B, text: readFileSync(B, "utf8") }], options);
    await startTry({ target, stateDir: s.dir, candidate, timeout: 1_000_000n, guardian: null, now: () => new Date(Date.now() - 5000) });
    assert.deepEqual(ports(listing(s.ns)), [52000]);
    const r = await s.cli(["status"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^ingressfw: the try expired at \S+: rolled back to the configuration confirmed at /m);
    assert.match(r.stdout, /^confirmed: \S+ from .*a\.yaml \(table inet talos\)$/m);
    assert.doesNotMatch(r.stdout, /try pending/);
    assert.equal(listing(s.ns), confirmed);
    deleteNetns(s.ns);
  });
});
