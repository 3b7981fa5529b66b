// The watcher against a real directory: editors' rename-replace, in-place writes, a ConfigMap swap and
// a missing directory, each reported once. Waits are bounded; nothing asserts on speed.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { readConfigDir } from "./config-dir.js";
import { watchConfigDir, type ConfigDirEvent } from "./watch-config.js";

const root = mkdtempSync(join(tmpdir(), "ingressfw-watch-test-"));
after(() => rmSync(root, { recursive: true, force: true }));
let serial = 0;

/** Collects events; `next` waits (bounded) for the n-th one. */
function recorder() {
  const events: ConfigDirEvent[] = [];
  const waiters: (() => void)[] = [];
  return {
    events,
    push(e: ConfigDirEvent) {
      events.push(e);
      waiters.splice(0).forEach((w) => w());
    },
    async waitFor(count: number, limitMs = 10_000): Promise<ConfigDirEvent> {
      const deadline = Date.now() + limitMs;
      while (events.length < count) {
        if (Date.now() > deadline) throw new Error(`no event #${count} within ${limitMs} ms (have ${events.length})`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 100);
        });
      }
      return events[count - 1]!;
    },
  };
}

const texts = (e: ConfigDirEvent) => (e.kind === "snapshot" ? e.snapshot.sources.map((s) => s.text) : e.message);
const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("watching the configuration directory", () => {
  it("reports an in-place edit and an editor's rename-replace, each once; a touch without change is silent", async () => {
    const d = join(root, `w${serial++}`);
    mkdirSync(d);
    writeFileSync(join(d, "a.yaml"), "v1");
    const rec = recorder();
    const w = watchConfigDir(d, readConfigDir(d).hash, (e) => rec.push(e), { pollMs: 60_000 });
    try {
      writeFileSync(join(d, "a.yaml"), "v2");
      assert.deepEqual(texts(await rec.waitFor(1)), ["v2"]);
      writeFileSync(join(d, ".a.yaml.tmp"), "v3");
      renameSync(join(d, ".a.yaml.tmp"), join(d, "a.yaml"));
      assert.deepEqual(texts(await rec.waitFor(2)), ["v3"]);
      writeFileSync(join(d, "a.yaml"), "v3");
      await settle(600);
      assert.equal(rec.events.length, 2);
    } finally {
      w.close();
    }
  });

  it("picks up a ConfigMap-style ..data symlink swap", async () => {
    const d = join(root, `w${serial++}`);
    mkdirSync(join(d, "..gen1"), { recursive: true });
    mkdirSync(join(d, "..gen2"));
    writeFileSync(join(d, "..gen1", "rules.yaml"), "old");
    writeFileSync(join(d, "..gen2", "rules.yaml"), "new");
    symlinkSync("..gen1", join(d, "..data"));
    symlinkSync("..data/rules.yaml", join(d, "rules.yaml"));
    const rec = recorder();
    const w = watchConfigDir(d, readConfigDir(d).hash, (e) => rec.push(e), { pollMs: 60_000 });
    try {
      symlinkSync("..gen2", join(d, "..data_tmp"));
      renameSync(join(d, "..data_tmp"), join(d, "..data"));
      assert.deepEqual(texts(await rec.waitFor(1)), ["new"]);
    } finally {
      w.close();
    }
  });

  it("the poll finds a change the directory watch cannot see (a symlinked file edited elsewhere)", async () => {
    const d = join(root, `w${serial++}`);
    const elsewhere = join(root, `elsewhere${serial++}`);
    mkdirSync(d);
    mkdirSync(elsewhere);
    writeFileSync(join(elsewhere, "real.yaml"), "one");
    symlinkSync(join(elsewhere, "real.yaml"), join(d, "rules.yaml"));
    const rec = recorder();
    const w = watchConfigDir(d, readConfigDir(d).hash, (e) => rec.push(e), { pollMs: 300 });
    try {
      writeFileSync(join(elsewhere, "real.yaml"), "two");
      assert.deepEqual(texts(await rec.waitFor(1)), ["two"]);
    } finally {
      w.close();
    }
  });

  it("a removed directory is reported once; its return is reported as content", async () => {
    const d = join(root, `w${serial++}`);
    mkdirSync(d);
    writeFileSync(join(d, "a.yaml"), "v1");
    const rec = recorder();
    const w = watchConfigDir(d, readConfigDir(d).hash, (e) => rec.push(e), { pollMs: 200 });
    try {
      rmSync(d, { recursive: true });
      const e = await rec.waitFor(1);
      assert.equal(e.kind, "error");
      await settle(600);
      assert.equal(rec.events.length, 1);
      mkdirSync(d);
      writeFileSync(join(d, "a.yaml"), "v1");
      assert.deepEqual(texts(await rec.waitFor(2)), ["v1"]);
    } finally {
      w.close();
    }
  });
});
