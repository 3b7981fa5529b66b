// The API over a real unix socket with recording handlers: routing, request validation (4xx with a
// message, handler never called), outcome status codes, socket permissions and stale-socket handling.
import assert from "node:assert/strict";
import { lstatSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { spawn } from "node:child_process";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { apiRoutes, type ApplyRequest, type DaemonHandlers, type DaemonStatus, type Outcome } from "./api.js";
import { daemonAnswers, replyError, requestDaemon } from "./client.js";
import { prepareSocketPath, serveUnix, SocketInUseError, type UnixServer } from "./http-server.js";

const root = mkdtempSync(join(tmpdir(), "ingressfw-api-test-"));
after(() => rmSync(root, { recursive: true, force: true }));

describe("daemon API over a unix socket", () => {
  const socket = join(root, "run", "api.sock");
  const calls: string[] = [];
  let next: Outcome = { kind: "ok", body: { done: true } };
  const handlers: DaemonHandlers = {
    // the API passes the status through as it is
    status: async () => ({ running: true }) as unknown as DaemonStatus,
    apply: async (r: ApplyRequest) => {
      calls.push(`apply ${JSON.stringify(r)}`);
      return next;
    },
    confirm: async () => {
      calls.push("confirm");
      return next;
    },
    rollback: async () => {
      calls.push("rollback");
      return next;
    },
  };
  let server: UnixServer;
  before(async () => {
    await prepareSocketPath(socket, true);
    server = await serveUnix(socket, apiRoutes(handlers), (e) => assert.fail(e));
  });
  after(() => server?.close());

  it("the socket is 0600 in a 0700 directory", () => {
    assert.ok(lstatSync(socket).isSocket());
    assert.equal(statSync(socket).mode & 0o777, 0o600);
    assert.equal(statSync(join(root, "run")).mode & 0o777, 0o700);
  });

  it("GET /v1/status answers; the client sees a daemon", async () => {
    const r = await requestDaemon(socket, "GET", "/v1/status");
    assert.deepEqual(r, { status: 200, body: { running: true } });
    assert.equal(await daemonAnswers(socket), true);
  });

  it("malformed requests get a 4xx with a message and never reach a handler", async () => {
    const cases: [string, "GET" | "POST", unknown, number][] = [
      ["/v1/nothing", "GET", undefined, 404],
      ["/v1/apply", "GET", undefined, 405],
      ["/v1/status", "POST", undefined, 405],
      ["/v1/apply", "POST", undefined, 400],
      ["/v1/apply", "POST", [], 400],
      ["/v1/apply", "POST", { config: "" }, 400],
      ["/v1/apply", "POST", { config: 3 }, 400],
      ["/v1/apply", "POST", { config: "x", mode: "later" }, 400],
      ["/v1/apply", "POST", { config: "x", extra: 1 }, 400],
      ["/v1/apply", "POST", { sources: [] }, 400],
      ["/v1/apply", "POST", { config: "x", sources: [{ file: "a.yaml", text: "x" }] }, 400],
      ["/v1/apply", "POST", { config: "x", timeout: "30s" }, 400],
      ["/v1/apply", "POST", { config: "x", mode: "try", timeout: "30" }, 400],
      ["/v1/apply", "POST", { config: "x", mode: "try", timeout: "1d" }, 400],
      ["/v1/apply", "POST", { config: "x", mode: "try", timeout: "0s" }, 400],
      ["/v1/apply", "POST", { config: "x", options: { profile: "talos-2" } }, 400],
      ["/v1/apply", "POST", { config: "x", options: { table: "1bad" } }, 400],
      ["/v1/apply", "POST", { config: "x", options: { nodeAddresses: ["10.0.0.300"] } }, 400],
      ["/v1/confirm", "POST", { now: true }, 400],
      ["/v1/rollback", "POST", "yes", 400],
    ];
    for (const [path, method, body, status] of cases) {
      const r = await requestDaemon(socket, method, path, body);
      assert.equal(r.status, status, `${method} ${path} ${JSON.stringify(body)}`);
      assert.match(replyError(r), /\w/);
    }
    assert.deepEqual(calls, []);
  });

  it("a body that is not JSON is a 400", async () => {
    const r = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request({ socketPath: socket, method: "POST", path: "/v1/apply" }, (res) => {
        let text = "";
        res.on("data", (b: Buffer) => (text += b.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on("error", reject);
      req.end("{config:");
    });
    assert.equal(r.status, 400);
    assert.match(JSON.parse(r.text).error, /not JSON/);
    assert.deepEqual(calls, []);
  });

  it("well-formed requests reach the handlers; outcomes map to status codes", async () => {
    next = { kind: "ok", body: { done: true } };
    assert.deepEqual(await requestDaemon(socket, "POST", "/v1/apply", { config: "a: 1", mode: "try", timeout: "30s" }), { status: 200, body: { done: true } });
    assert.equal((await requestDaemon(socket, "POST", "/v1/confirm")).status, 200);
    assert.equal((await requestDaemon(socket, "POST", "/v1/rollback", {})).status, 200);
    const sources = [{ file: "a.yaml", text: "x: 1" }];
    const options = { profile: "talos-1.7", layout: "per-rule", table: "t2", nodeAddresses: ["10.0.0.1", "fd00::1"], strict: true };
    assert.equal((await requestDaemon(socket, "POST", "/v1/apply", { sources, options })).status, 200);
    assert.deepEqual(calls, ['apply {"config":"a: 1","mode":"try","timeout":"30s"}', "confirm", "rollback", `apply ${JSON.stringify({ sources, options })}`]);
    const diagnostics = [{ severity: "error", file: "<api>", line: 1, col: 1, text: "<api>:1:1: error: bad" }];
    const expected: [Outcome, number][] = [
      [{ kind: "invalid", error: "invalid configuration: 1 error(s)", diagnostics }, 422],
      [{ kind: "conflict", error: "no try is pending" }, 409],
      [{ kind: "failed", error: "the kernel rejected it" }, 500],
    ];
    for (const [outcome, status] of expected) {
      next = outcome;
      const r = await requestDaemon(socket, "POST", "/v1/apply", { config: "a: 1" });
      assert.equal(r.status, status);
      assert.equal(replyError(r), (outcome as { error: string }).error);
      if (outcome.kind === "invalid") assert.deepEqual((r.body as { diagnostics: unknown }).diagnostics, diagnostics);
    }
  });

  it("a second daemon on the same socket is refused", async () => {
    await assert.rejects(prepareSocketPath(socket, true), SocketInUseError);
  });
});

describe("socket path preparation", () => {
  it("a stale socket (its daemon killed with SIGKILL) is replaced; the client sees no daemon there", async () => {
    const path = join(root, "stale.sock");
    const child = spawn(process.execPath, ["-e", `require("net").createServer().listen(${JSON.stringify(path)}, () => console.log("up"))`], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("the listener did not start within 10 s")), 10_000);
        child.stdout.once("data", () => {
          clearTimeout(timer);
          resolve();
        });
      });
    } finally {
      child.kill("SIGKILL");
    }
    await new Promise((r) => child.once("exit", r));
    assert.ok(lstatSync(path).isSocket());
    assert.equal(await daemonAnswers(path), false);
    await prepareSocketPath(path, false);
    assert.equal(lstatSync(path, { throwIfNoEntry: false }), undefined);
  });

  it("a path that exists and is not a socket is refused", async () => {
    const path = join(root, "file.sock");
    writeFileSync(path, "");
    await assert.rejects(prepareSocketPath(path, false), /not a socket/);
  });

  it("no socket: the client sees no daemon", async () => {
    assert.equal(await daemonAnswers(join(root, "absent.sock")), false);
  });
});
