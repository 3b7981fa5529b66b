import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { lockHolder, tryLock, unlock, withStateLock } from "./lock.js";
import { StateError } from "./state.js";

const dir = mkdtempSync(join(tmpdir(), "ingressfw-lock-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The pid of a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(r.stdout);
}

describe("pid locks", () => {
  it("are taken once, released by their holder, and leave no temporary file", () => {
    const file = join(dir, "a.lock");
    assert.equal(tryLock(file), true);
    assert.equal(lockHolder(file)?.pid, process.pid);
    assert.equal(tryLock(file), false, "held by a live process (this one)");
    unlock(file);
    assert.equal(existsSync(file), false);
    assert.equal(lockHolder(file), null);
    assert.deepEqual(readdirSync(dir), []);
  });

  it("count as free when left by a dead process, or by a pid now running another process", () => {
    const file = join(dir, "stale.lock");
    writeFileSync(file, JSON.stringify({ pid: deadPid(), start: "1" }));
    assert.equal(lockHolder(file), null);
    assert.equal(tryLock(file), true);
    unlock(file);
    // a live pid whose start time differs: the pid was reused (e.g. after a reboot)
    writeFileSync(file, JSON.stringify({ pid: process.pid, start: "0" }));
    assert.equal(lockHolder(file), null);
    assert.equal(tryLock(file), true);
    unlock(file);
    writeFileSync(file, "garbage");
    assert.equal(tryLock(file), true);
    unlock(file);
  });

  it("are held by another live process until it exits", async () => {
    const file = join(dir, "other.lock");
    const url = new URL("./lock.ts", import.meta.url).href;
    const holder = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "-e",
        `import(${JSON.stringify(url)}).then((m) => { m.tryLock(${JSON.stringify(file)}); console.log("locked"); setTimeout(() => {}, 30000); })`,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error("the holder did not start")), 20_000);
        holder.stdout.on("data", () => {
          clearTimeout(t);
          resolve();
        });
      });
      assert.equal(lockHolder(file)?.pid, holder.pid);
      assert.equal(tryLock(file), false);
      unlock(file); // not ours: left alone
      assert.equal(lockHolder(file)?.pid, holder.pid);
    } finally {
      holder.kill("SIGKILL");
      await new Promise((r) => holder.once("exit", r));
    }
    assert.equal(tryLock(file), true, "free once its holder was killed");
    unlock(file);
  });
});

describe("withStateLock", () => {
  it("runs changes of one state directory one at a time, also within a process", async () => {
    const sub = join(dir, "serial");
    const events: string[] = [];
    const task = (name: string) =>
      withStateLock(sub, async () => {
        events.push(`${name} start`);
        await new Promise((r) => setTimeout(r, 30));
        events.push(`${name} end`);
        return name;
      });
    assert.deepEqual(await Promise.all([task("a"), task("b")]), ["a", "b"]);
    assert.deepEqual(events, ["a start", "a end", "b start", "b end"]);
    assert.deepEqual(readdirSync(sub), []);
  });

  it("releases the lock when the change throws", async () => {
    const sub = join(dir, "throws");
    await assert.rejects(
      withStateLock(sub, () => {
        throw new Error("boom");
      }),
      /boom/,
    );
    assert.equal(await withStateLock(sub, () => "again"), "again");
  });

  it("gives up after its bounded wait with a StateError naming the holder", async () => {
    const sub = join(dir, "busy");
    await withStateLock(sub, async () => {
      await assert.rejects(
        withStateLock(sub, () => "never", 100),
        (e: unknown) => e instanceof StateError && new RegExp(`pid ${process.pid}`).test(e.message),
      );
    });
  });
});
