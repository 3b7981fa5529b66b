// The evaluator's interval lookups agree with the reference `contains` for every key, including IPv6
// keys and ends that round to the same double (the bigints decide those).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { contains, normalize, type IntervalSet } from "../net/interval.js";
import { addrIndex, approxIndex, bigIndex, bigIntervals, newKey, numberIndex, numberIntervals, resetKey } from "./lookup.js";

/** Keys at and around every end of the set, and some elsewhere. */
function probes(set: IntervalSet, extra: readonly bigint[]): bigint[] {
  return [...extra, ...set.flatMap((iv) => [iv.lo - 1n, iv.lo, iv.lo + 1n, iv.hi - 1n, iv.hi, iv.hi + 1n])].filter((k) => k >= 0n);
}

function setOf(ends: readonly [bigint, bigint][]): IntervalSet {
  return normalize(ends.map(([a, b]) => (a <= b ? { lo: a, hi: b } : { lo: b, hi: a })));
}

function agrees(set: IntervalSet, keys: readonly bigint[]): void {
  const t = bigIntervals(set);
  for (const value of keys) {
    const expected = contains(set, value);
    // addrIndex with a fresh key, and with one already searched often enough to have been converted.
    const used = newKey();
    resetKey(used, value);
    for (let i = 0; i < 8; i++) addrIndex(t, used);
    const fresh = newKey();
    resetKey(fresh, value);
    for (const [name, i] of [
      ["bigIndex", bigIndex(t, value)],
      ["approxIndex", approxIndex(t, value, Number(value))],
      ["addrIndex", addrIndex(t, fresh)],
      ["addrIndex (converted key)", addrIndex(t, used)],
    ] as const) {
      assert.equal(i >= 0, expected, `${name} ${value}`);
      if (i >= 0) assert.ok(set[i]!.lo <= value && value <= set[i]!.hi, `${name} ${value}: the interval holding it`);
    }
  }
}

const v6 = (hi64: bigint, lo64: bigint) => (hi64 << 64n) | lo64;

describe("interval lookups", () => {
  it("port intervals: the index of the interval holding the key, or -1", () => {
    const t = numberIntervals([
      { lo: 22n, hi: 22n },
      { lo: 80n, hi: 90n },
      { lo: 65535n, hi: 65535n },
    ]);
    assert.deepEqual(
      [0, 21, 22, 23, 79, 80, 85, 90, 91, 65534, 65535].map((k) => numberIndex(t, k)),
      [-1, -1, 0, -1, -1, 1, 1, 1, -1, -1, 2],
    );
    assert.equal(numberIndex(numberIntervals([]), 1), -1);
  });

  it("IPv6 ends that round to one double: a /64 and single addresses inside another /64", () => {
    const net = 0x2001_0db8_0000_0001n;
    const set: IntervalSet = [
      { lo: v6(net, 0n), hi: v6(net, 0xffff_ffff_ffff_ffffn) },
      { lo: v6(net + 1n, 5n), hi: v6(net + 1n, 5n) },
      { lo: v6(net + 1n, 7n), hi: v6(net + 1n, 9n) },
    ];
    assert.equal(Number(set[1]!.lo), Number(set[2]!.hi), "the test needs ends that share a double");
    agrees(set, probes(set, [0n, v6(net + 1n, 6n), v6(net + 2n, 0n)]));
  });

  it("agrees with contains on random IPv4 and IPv6 sets (property)", () => {
    const v4 = fc.bigInt({ min: 0n, max: (1n << 32n) - 1n });
    // IPv6 values clustered in a few /64s, so that neighbours often share a double.
    const v6Near = fc.tuple(fc.constantFrom(0x2001_0db8_0000_0000n, 0xfd00_0000_0000_0001n), fc.bigInt({ min: 0n, max: 40n })).map(([hi, lo]) => v6(hi, lo));
    for (const value of [v4, fc.oneof(v6Near, fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }))]) {
      fc.assert(
        fc.property(fc.array(fc.tuple(value, value), { maxLength: 40 }), fc.array(value, { maxLength: 10 }), (ends, extra) => {
          const set = setOf(ends);
          agrees(set, probes(set, extra));
        }),
        { numRuns: 300 },
      );
    }
  });
});
