// `ingressfw demo` end to end: the real CLI, the real kernel, the lab's own namespaces. Also the agent
// that the demo runs in each namespace, in a namespace of this test's own.
import assert from "node:assert/strict";
import { execFile, execFileSync, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { after, describe, test } from "node:test";
import { Agent } from "../../src/demo/agents.js";
import { LAB_PREFIX } from "../../src/demo/plan.js";
import { createNetns, inNetns, kernelSkipReason } from "../support/netns.js";

const skip = kernelSkipReason();
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CLI = ["--import", "tsx", "src/cli/bin.ts", "demo"];
const RUN_TIMEOUT_MS = 120_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...CLI, ...args], { cwd: ROOT, timeout: RUN_TIMEOUT_MS, env: { ...process.env, NO_COLOR: "1" } }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
    );
  });
}

function labNamespaces(): string[] {
  return execFileSync("ip", ["netns", "list"], { encoding: "utf8" })
    .split("\n")
    .map((l) => l.split(" ")[0]!)
    .filter((n) => n.startsWith(LAB_PREFIX));
}

function agentPids(): number[] {
  const out = execFileSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" });
  return out
    .split("\n")
    .filter((l) => l.includes("--ifw-demo-agent"))
    .map((l) => Number(l.trim().split(" ")[0]));
}

/** The matrix cells: the lines under "to <node>" blocks, after the two header lines. */
function matrixCells(stdout: string): string[] {
  const cells: string[] = [];
  for (const block of stdout.split(/\n(?=to \S+ \()/).slice(1)) {
    const rows = block.split("\n\n")[0]!.split("\n").slice(3);
    for (const row of rows)
      cells.push(
        ...row
          .trim()
          .split(/\s{2,}/)
          .slice(1),
      );
  }
  return cells;
}

describe("ingressfw demo", { skip }, () => {
  after(async () => {
    if (labNamespaces().length > 0) await cli(["--clean"]);
  });

  test("prints a matrix where every cell matches the seed's promises, exits 0 and leaves nothing behind", async () => {
    assert.deepEqual(labNamespaces(), [], "a demo lab is already up: run 'ingressfw demo --clean' first");
    const r = await cli([]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const cells = matrixCells(r.stdout);
    assert.equal(cells.length, 320, r.stdout);
    const bad = cells.filter((c) => !/^(open|drop) ✓$|^skip$/.test(c));
    assert.deepEqual(bad, []);
    assert.ok(cells.filter((c) => c === "open ✓").length >= 152, "the open cells are missing"); // 192 with ping, 152 without
    assert.match(r.stdout, /^All \d+ checked cells match the seed's promises/m);
    assert.match(r.stderr, /removing the lab … done/);
    assert.deepEqual(labNamespaces(), []);
    assert.deepEqual(agentPids(), []);
  });

  test("--keep leaves the lab and its listeners up; --clean removes both", async () => {
    const kept = await cli(["--keep"]);
    assert.equal(kept.code, 0, kept.stderr);
    assert.match(kept.stdout, /ingressfw demo --clean/);
    assert.equal(labNamespaces().length, 6);
    // A listener still answers: apid on cp1, from the external client, over the bridge.
    inNetns(`${LAB_PREFIX}external`, "bash", ["-c", "timeout 2 bash -c '</dev/tcp/172.20.0.2/50000'"]);
    assert.ok(agentPids().length > 0);
    const again = await cli([]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already up .* demo --clean/);
    const cleaned = await cli(["--clean"]);
    assert.equal(cleaned.code, 0, cleaned.stderr);
    assert.match(cleaned.stdout, /^Removed /);
    assert.deepEqual(labNamespaces(), []);
    assert.deepEqual(agentPids(), []);
    const nothing = await cli(["--clean"]);
    assert.match(nothing.stdout, /No demo lab found/);
  });

  test("SIGINT in the middle removes the lab and exits 130", async () => {
    const child = spawn(process.execPath, CLI, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stdout.resume();
    child.stderr.setEncoding("utf8");
    const code = await new Promise<number | null>((resolve) => {
      const guard = setTimeout(() => child.kill("SIGKILL"), RUN_TIMEOUT_MS);
      child.stderr.on("data", (s: string) => {
        stderr += s;
        // Interrupt once the lab exists and the firewall is in place.
        if (/applying .* applied/.test(stderr) && child.exitCode === null && !child.killed) child.kill("SIGINT");
      });
      child.once("close", (c) => {
        clearTimeout(guard);
        resolve(c);
      });
    });
    assert.equal(code, 130, stderr);
    assert.match(stderr, /interrupted by SIGINT: stopping and removing the lab/);
    assert.deepEqual(labNamespaces(), []);
    assert.deepEqual(agentPids(), []);
  });

  test("not root: exit 77 with a clear message", { skip: hasSetpriv() ? false : "setpriv is not installed" }, () => {
    let code = 0;
    let stderr = "";
    try {
      execFileSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, ...CLI], { cwd: ROOT, encoding: "utf8", stdio: "pipe" });
    } catch (e) {
      code = (e as { status: number }).status;
      stderr = (e as { stderr: string }).stderr;
    }
    assert.equal(code, 77);
    assert.match(stderr, /demo needs root/);
  });
});

function hasSetpriv(): boolean {
  try {
    execFileSync("sh", ["-c", "command -v setpriv"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

describe("the demo's agent", { skip }, () => {
  test("reports open, refused and dropped from inside its namespace, and exits when its stdin closes", async () => {
    const ns = createNetns("ifwdemo-agent");
    inNetns(
      ns,
      "nft",
      ["-f", "-"],
      "table inet t {\n chain c {\n type filter hook input priority 0; policy accept;\n tcp dport 7002 drop\n udp dport 7003 drop\n }\n}\n",
    );
    const agent = await Agent.start(ns, { tcp: [7001, 7002], udp: [7004, 7003] }, new AbortController().signal);
    let ended: string | undefined;
    try {
      const probe = (proto: "tcp" | "udp", host: string, port: number) => agent.probe({ proto, host, port, timeoutMs: 300 }).then((a) => a.observed);
      assert.equal(await probe("tcp", "127.0.0.1", 7001), "open");
      assert.equal(await probe("tcp", "::1", 7001), "open"); // one dual-stack listener
      assert.equal(await probe("tcp", "127.0.0.1", 7009), "refused"); // nobody listens
      assert.equal(await probe("udp", "::1", 7004), "open"); // the echo came back
      assert.equal(await probe("udp", "127.0.0.1", 7009), "refused"); // port unreachable
      // This table, unlike the seed's, has no lo exception: loopback probes meet it.
      assert.equal(await probe("tcp", "127.0.0.1", 7002), "drop");
      assert.equal(await probe("udp", "127.0.0.1", 7003), "drop");
    } finally {
      ended = await agent.stop();
    }
    assert.equal(ended, "exited", "the agent did not exit when its stdin closed");
    assert.equal(execFileSync("ip", ["netns", "pids", ns], { encoding: "utf8" }).trim(), "", "the agent is still running");
  });
});
