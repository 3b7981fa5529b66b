import { test } from "node:test";
import assert from "node:assert/strict";
import { abbaOrder, median, ratePerSecond, summarizePairs } from "./stats.js";

test("median of odd and even counts; none is an error", () => {
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.throws(() => median([]), RangeError);
});

test("pairs alternate ABBA: ref fw, fw ref, ref fw", () => {
  assert.deepEqual([0, 1, 2, 3].map(abbaOrder), [
    ["ref", "fw"],
    ["fw", "ref"],
    ["ref", "fw"],
    ["fw", "ref"],
  ]);
});

test("the rate is the median of paired ratios, not the ratio of medians", () => {
  const s = summarizePairs([
    { fwNs: 2, refNs: 1 },
    { fwNs: 4, refNs: 4 },
    { fwNs: 10, refNs: 3 },
  ]);
  assert.equal(s.rateRatio.median, 0.5); // ratios 0.5, 1, 0.3; ratio of medians would be 3 / 4
  assert.equal(s.rateRatio.min, 0.3);
  assert.equal(s.rateRatio.max, 1);
  assert.equal(s.overheadNs.median, 1); // differences 1, 0, 7
  assert.equal(s.fwNs.median, 4);
  assert.equal(s.refNs.median, 3);
  assert.equal(s.pairs, 3);
});

test("a run that measured no time is refused", () => {
  assert.throws(() => summarizePairs([{ fwNs: 0, refNs: 1 }]), RangeError);
  assert.throws(() => summarizePairs([]), RangeError);
});

test("operations per second: median over samples", () => {
  assert.equal(
    ratePerSecond([
      { count: 100, ms: 1 },
      { count: 100, ms: 2 },
      { count: 300, ms: 1 },
    ]),
    100_000,
  );
});
