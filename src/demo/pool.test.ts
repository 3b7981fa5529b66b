import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { mapLimit } from "./pool.js";

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("mapLimit keeps input order and never runs more than the limit at once", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.nat(3), { maxLength: 30 }), fc.integer({ min: 1, max: 8 }), async (delays, limit) => {
      let running = 0;
      let peak = 0;
      const out = await mapLimit(delays, limit, async (d, i) => {
        peak = Math.max(peak, ++running);
        await tick(d);
        running--;
        return i * 2;
      });
      assert.deepEqual(
        out,
        delays.map((_, i) => i * 2),
      );
      assert.ok(peak <= limit, `peak ${peak} > limit ${limit}`);
    }),
    { numRuns: 40 },
  );
});

test("mapLimit starts no new job after the signal aborts, and rejects with its reason", async () => {
  const ac = new AbortController();
  const started: number[] = [];
  const run = mapLimit(
    Array.from({ length: 20 }, (_, i) => i),
    2,
    async (i) => {
      started.push(i);
      if (i === 3) ac.abort(new Error("stop"));
      await tick(1);
    },
    ac.signal,
  );
  await assert.rejects(run, /stop/);
  assert.ok(started.length <= 5, `started ${started.length} jobs`);
});

test("mapLimit rejects a limit below 1", async () => {
  await assert.rejects(
    mapLimit([1], 0, async (x) => x),
    RangeError,
  );
});

test("mapLimit starts no new job after one has failed", async () => {
  const started: number[] = [];
  const run = mapLimit(
    Array.from({ length: 20 }, (_, i) => i),
    2,
    async (i) => {
      started.push(i);
      await tick(1);
      if (i === 1) throw new Error("job 1 failed");
    },
  );
  await assert.rejects(run, /job 1 failed/);
  await tick(20); // the other worker has had time to go on, if it would
  assert.ok(started.length <= 3, `started ${started.join(",")}`);
});
