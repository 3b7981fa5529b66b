// The try-mode library against a real namespace, with a test clock (no guardian: the test owns the
// rollback, as the daemon does). The CLI, the guardian and killed processes: test/kernel/try.test.ts.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { createNetns, deleteNetns, kernelSkipReason } from "../../test/support/netns.js";
import { readConfirmed, readState } from "../kernel/state.js";
import { KernelError } from "../kernel/exec.js";
import { parseAddress } from "../net/address.js";
import { applyConfirmed, prepareCandidate, type ConfigOptions } from "./apply-config.js";
import { confirmTry, readPendingTry, resolveOverdueTry, rollbackBackoffMs, rollbackDueAt, rollbackNow, startTry, TryError } from "./try.js";

const skip = kernelSkipReason();
const work = mkdtempSync(join(tmpdir(), "ingressfw-try-lib-"));
after(() => rmSync(work, { recursive: true, force: true }));

const S = 1_000_000_000n;
const options: ConfigOptions = { profile: "talos", layout: "per-rule", table: "talos", nodeAddresses: [parseAddress("10.9.0.1")!] };
const config = (port: number) => [
  {
    file: `port-${port}.yaml`,
    text: `apiVersion: v1alpha1\nkind: NetworkRuleConfig\nname: r${port}\nportSelector: {ports: [${port}], protocol: tcp}\ningress: [{subnet: 10.0.0.0/8}]\n`,
  },
];

/** The ports of our table's rules in the namespace, or null without the table. */
function livePorts(ns: string, table = "talos"): string | null {
  try {
    const text = execFileSync("ip", ["netns", "exec", ns, "nft", "list", "table", "inet", table], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    // whatever form the rules take (sets, maps), the port appears as a number
    return [...new Set([...text.matchAll(/\b(4[123]000)\b/g)].map((m) => m[1]))].join(",");
  } catch {
    return null;
  }
}

describe("rollbackBackoffMs", () => {
  it("doubles from 1 s to at most 60 s", () => {
    assert.deepEqual([1, 2, 3, 4, 7, 8, 100].map(rollbackBackoffMs), [1000, 2000, 4000, 8000, 60_000, 60_000, 60_000]);
  });
});

describe("try mode (library)", { skip }, () => {
  const t0 = new Date("2030-01-01T00:00:00Z");
  const at = (ms: number) => () => new Date(t0.getTime() + ms);

  it("rolls back to the last confirmed state at the deadline, not before; a second try keeps that target", async () => {
    const ns = createNetns("tfl");
    const target = { netns: ns };
    const dir = join(work, "second");
    try {
      await applyConfirmed(target, dir, await prepareCandidate(target, config(41000), options));
      const first = await startTry({
        target,
        stateDir: dir,
        candidate: await prepareCandidate(target, config(42000), options),
        timeout: 60n * S,
        guardian: null,
        now: at(0),
      });
      assert.equal(first.pending.deadline, "2030-01-01T00:01:00.000Z");
      assert.equal(first.replaced, null);
      assert.equal(livePorts(ns), "42000");
      const second = await startTry({
        target,
        stateDir: dir,
        candidate: await prepareCandidate(target, config(43000), options),
        timeout: 30n * S,
        guardian: null,
        now: at(10_000),
      });
      assert.equal(second.replaced?.startedAt, first.pending.startedAt);
      assert.equal(second.pending.deadline, "2030-01-01T00:00:40.000Z", "the timer restarts with the new timeout");
      assert.deepEqual(second.pending.rollbackTarget, readConfirmed(dir), "the rollback target stays the last confirmed state");
      assert.equal(livePorts(ns), "43000");

      assert.equal((await resolveOverdueTry(target, dir, { now: at(39_999) })).kind, "pending");
      const outcome = await resolveOverdueTry(target, dir, { now: at(40_000) });
      assert.equal(outcome.kind, "rolled-back");
      assert.equal(livePorts(ns), "41000");
      assert.equal(readPendingTry(dir), null);
      assert.deepEqual(readState(dir)?.inputs, ["port-41000.yaml"], "state.json names what is applied again");
      assert.equal((await resolveOverdueTry(target, dir, { now: at(50_000) })).kind, "none");
    } finally {
      deleteNetns(ns);
    }
  });

  it("confirm keeps the candidate and persists it; after the deadline it refuses", async () => {
    const ns = createNetns("tfl");
    const target = { netns: ns };
    const dir = join(work, "confirm");
    try {
      await startTry({ target, stateDir: dir, candidate: await prepareCandidate(target, config(42000), options), timeout: 5n * S, guardian: null, now: at(0) });
      await assert.rejects(confirmTry(target, dir, { now: at(5000) }), (e: unknown) => e instanceof TryError && e.kind === "expired");
      const { confirmed } = await confirmTry(target, dir, { now: at(4999) });
      assert.deepEqual(readConfirmed(dir), confirmed);
      assert.deepEqual(
        confirmed.config.sources.map((s) => s.file),
        ["port-42000.yaml"],
      );
      assert.deepEqual(confirmed.config.options.nodeAddresses, ["10.9.0.1"], "given node addresses are kept; discovered ones are not");
      assert.equal(readPendingTry(dir), null);
      assert.equal((await resolveOverdueTry(target, dir, { now: at(60_000) })).kind, "none");
      assert.equal(livePorts(ns), "42000");
      await assert.rejects(confirmTry(target, dir), (e: unknown) => e instanceof TryError && e.kind === "none");
      await assert.rejects(rollbackNow(target, dir), (e: unknown) => e instanceof TryError && e.kind === "none");
    } finally {
      deleteNetns(ns);
    }
  });

  it("with nothing confirmed, the rollback removes the tables the tries created", async () => {
    const ns = createNetns("tfl");
    const target = { netns: ns };
    const dir = join(work, "none");
    try {
      await startTry({ target, stateDir: dir, candidate: await prepareCandidate(target, config(42000), options), timeout: 5n * S, guardian: null });
      const other = { ...options, table: "other" };
      await startTry({ target, stateDir: dir, candidate: await prepareCandidate(target, config(43000), other), timeout: 5n * S, guardian: null });
      assert.deepEqual(readPendingTry(dir)?.tables, ["talos", "other"]);
      const outcome = await rollbackNow(target, dir);
      assert.equal(outcome.kind, "rolled-back");
      assert.deepEqual(outcome.kind === "rolled-back" && outcome.removedTables, ["talos", "other"]);
      assert.equal(livePorts(ns), null);
      assert.equal(livePorts(ns, "other"), null);
      assert.equal(readState(dir), null);
    } finally {
      deleteNetns(ns);
    }
  });

  it("a rejected apply schedules nothing and leaves an earlier pending try as it was", async () => {
    const ns = createNetns("tfl");
    const dir = join(work, "rejected");
    try {
      const target = { netns: ns };
      await startTry({ target, stateDir: dir, candidate: await prepareCandidate(target, config(42000), options), timeout: 5n * S, guardian: null });
      const before = readPendingTry(dir);
      const gone = { netns: `${ns}-missing` };
      const candidate = await prepareCandidate(gone, config(43000), options); // given node addresses: no discovery
      await assert.rejects(startTry({ target: gone, stateDir: dir, candidate, timeout: 5n * S, guardian: null }), KernelError);
      assert.deepEqual(readPendingTry(dir), before);
      const fresh = join(work, "rejected-fresh");
      await assert.rejects(startTry({ target: gone, stateDir: fresh, candidate, timeout: 5n * S, guardian: null }), KernelError);
      assert.equal(readPendingTry(fresh), null);
      await assert.rejects(
        startTry({ target, stateDir: fresh, candidate, timeout: 0n, guardian: null }),
        (e: unknown) => e instanceof TryError && e.kind === "timeout",
      );
    } finally {
      deleteNetns(ns);
    }
  });

  it("a failed rollback is recorded with backoff and retried; an early rollback request ends the window", async () => {
    const ns = createNetns("tfl");
    const target = { netns: ns };
    const dir = join(work, "failing");
    try {
      await applyConfirmed(target, dir, await prepareCandidate(target, config(41000), options));
      await startTry({
        target,
        stateDir: dir,
        candidate: await prepareCandidate(target, config(42000), options),
        timeout: 60n * S,
        guardian: null,
        now: at(0),
      });
      // The rollback recompiles in the target: a namespace that is gone makes it fail.
      const gone = { netns: `${ns}-missing` };
      const failed = await rollbackNow(gone, dir, { now: at(1000) });
      assert.equal(failed.kind, "failed");
      const p = readPendingTry(dir)!;
      assert.equal(p.rollback.attempts, 1);
      assert.match(p.rollback.lastError ?? "", /missing/);
      assert.equal(p.deadline, "2030-01-01T00:00:01.000Z", "no longer confirmable");
      assert.equal(rollbackDueAt(p).toISOString(), "2030-01-01T00:00:02.000Z");
      assert.equal((await resolveOverdueTry(target, dir, { now: at(1500) })).kind, "backoff");
      assert.equal((await resolveOverdueTry(gone, dir, { now: at(2000) })).kind, "failed");
      assert.equal(readPendingTry(dir)?.rollback.attempts, 2);
      assert.equal(readPendingTry(dir)?.rollback.nextAttemptAt, "2030-01-01T00:00:04.000Z");
      assert.equal((await resolveOverdueTry(target, dir, { now: at(2500), ignoreBackoff: true })).kind, "rolled-back");
      assert.equal(livePorts(ns), "41000");
    } finally {
      deleteNetns(ns);
    }
  });

  it("a plain apply during the window confirms its own configuration", async () => {
    const ns = createNetns("tfl");
    const target = { netns: ns };
    const dir = join(work, "plain");
    try {
      await startTry({ target, stateDir: dir, candidate: await prepareCandidate(target, config(42000), options), timeout: 60n * S, guardian: null });
      const applied = await applyConfirmed(target, dir, await prepareCandidate(target, config(43000), options));
      assert.equal(applied.cancelledTry?.candidate.sources[0]?.file, "port-42000.yaml");
      assert.equal(readPendingTry(dir), null);
      assert.deepEqual(
        readConfirmed(dir)?.config.sources.map((s) => s.file),
        ["port-43000.yaml"],
      );
      assert.equal(livePorts(ns), "43000");
    } finally {
      deleteNetns(ns);
    }
  });
});
