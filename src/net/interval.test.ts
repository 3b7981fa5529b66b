// IntervalSet operations against a brute-force model: sets over a small universe as bit masks, placed at the
// bottom of the number line, at the top of the IPv4 space and at the top of the IPv6 space (bigint arithmetic
// near 2^128); and sets of 16-bit ports checked member by member.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { contains, coversAll, equals, intersect, interval, normalize, overlaps, subtract, union, type Interval, type IntervalSet } from "./interval.js";

const SEED = 20240611;
const RUNS = 400;
const check = <T>(property: fc.IProperty<T>) => fc.assert(property, { seed: SEED, numRuns: RUNS });

/** A universe of U consecutive values starting at `base`: value base+i is bit i of a mask. */
const U = 48;
const ALL = (1n << BigInt(U)) - 1n;
const BASES: [string, bigint][] = [
  ["0", 0n],
  ["the top of IPv4", (1n << 32n) - BigInt(U)],
  ["the top of IPv6", (1n << 128n) - BigInt(U)],
];

function modelOf(items: readonly Interval[], base: bigint): bigint {
  let mask = 0n;
  for (const { lo, hi } of items) for (let v = lo; v <= hi; v++) mask |= 1n << (v - base);
  return mask;
}

/** The canonical set of a mask: maximal runs of set bits, ascending. */
function setOf(mask: bigint, base: bigint): IntervalSet {
  const out: Interval[] = [];
  let i = 0;
  while (i < U) {
    if (((mask >> BigInt(i)) & 1n) === 0n) {
      i++;
      continue;
    }
    let j = i;
    while (j + 1 < U && ((mask >> BigInt(j + 1)) & 1n) === 1n) j++;
    out.push(interval(base + BigInt(i), base + BigInt(j)));
    i = j + 1;
  }
  return out;
}

const offsetArb = fc.integer({ min: 0, max: U - 1 });
/** Any interval list, unsorted, overlapping and adjacent ones included (short intervals are likelier). */
const itemsArb = (base: bigint) =>
  fc.array(
    fc.tuple(offsetArb, fc.integer({ min: 0, max: 12 })).map(([a, len]) => interval(base + BigInt(a), base + BigInt(Math.min(U - 1, a + len)))),
    { maxLength: 8 },
  );
const setArb = (base: bigint) => itemsArb(base).map(normalize);

for (const [where, base] of BASES) {
  describe(`interval sets against bit masks, universe at ${where}`, () => {
    it("normalize gives the canonical set of the same members", () => {
      check(fc.property(itemsArb(base), (items) => assert.deepEqual(normalize(items), setOf(modelOf(items, base), base))));
    });

    it("normalize is idempotent and does not depend on input order", () => {
      check(
        fc.property(itemsArb(base), (items) => {
          const n = normalize(items);
          assert.deepEqual(normalize(n), n);
          assert.deepEqual(normalize([...items].reverse()), n);
        }),
      );
    });

    it("union, subtract and intersect match |, &~ and &", () => {
      check(
        fc.property(setArb(base), setArb(base), (a, b) => {
          const [ma, mb] = [modelOf(a, base), modelOf(b, base)];
          assert.deepEqual(union(a, b), setOf(ma | mb, base));
          assert.deepEqual(subtract(a, b), setOf(ma & ~mb, base));
          assert.deepEqual(intersect(a, b), setOf(ma & mb, base));
        }),
      );
    });

    it("contains tests membership, also just outside every interval", () => {
      check(
        fc.property(setArb(base), (set) => {
          const m = modelOf(set, base);
          for (let i = 0; i < U; i++) assert.equal(contains(set, base + BigInt(i)), ((m >> BigInt(i)) & 1n) === 1n, `value ${i}`);
          assert.equal(contains(set, base - 1n), false);
          assert.equal(contains(set, base + BigInt(U)), false);
        }),
      );
    });

    it("coversAll, equals and overlaps agree with the masks", () => {
      check(
        fc.property(setArb(base), setArb(base), (a, b) => {
          const [ma, mb] = [modelOf(a, base), modelOf(b, base)];
          // Relative to the universe: [base, base+U-1] stands for [0, max] when base is 0.
          if (base === 0n) assert.equal(coversAll(a, BigInt(U - 1)), ma === ALL);
          assert.equal(equals(a, b), ma === mb);
          assert.equal(overlaps(a, b), (ma & mb) !== 0n);
        }),
      );
    });
  });
}

describe("interval set edge cases", () => {
  const iv = (lo: number, hi: number) => interval(BigInt(lo), BigInt(hi));

  it("merges adjacent and overlapping intervals, keeps gaps of one", () => {
    assert.deepEqual(normalize([iv(82, 90), iv(80, 81)]), [iv(80, 90)]);
    assert.deepEqual(normalize([iv(1, 5), iv(3, 4), iv(5, 9)]), [iv(1, 9)]);
    assert.deepEqual(normalize([iv(1, 5), iv(7, 9)]), [iv(1, 5), iv(7, 9)]);
    assert.deepEqual(normalize([]), []);
  });

  it("subtracting the whole leaves nothing; subtracting nothing leaves all", () => {
    const max = (1n << 128n) - 1n;
    const all = [interval(0n, max)];
    assert.deepEqual(subtract(all, all), []);
    assert.deepEqual(subtract(all, []), all);
    assert.deepEqual(subtract(all, [interval(max, max)]), [interval(0n, max - 1n)]);
    assert.deepEqual(subtract(all, [interval(0n, 0n)]), [interval(1n, max)]);
  });

  it("coversAll needs exactly one interval [0, max]", () => {
    const max = (1n << 32n) - 1n;
    assert.equal(coversAll([interval(0n, max)], max), true);
    assert.equal(coversAll([interval(0n, max - 1n)], max), false);
    assert.equal(coversAll([interval(1n, max)], max), false);
    assert.equal(coversAll([interval(0n, 9n), interval(10n, max)], max), false); // not canonical: never produced
    assert.equal(coversAll(normalize([interval(0n, 9n), interval(10n, max)]), max), true);
    assert.equal(coversAll([], max), false);
  });
});

describe("16-bit port sets, member by member", () => {
  const PORTS = 65536;
  /** Ends biased to the edges of the port space and to each other, so adjacency and 65535 come up often. */
  const portArb = fc.oneof(fc.integer({ min: 0, max: 65535 }), fc.constantFrom(0, 1, 2, 80, 81, 82, 65533, 65534, 65535));
  const portItemsArb = fc.array(
    fc.tuple(portArb, portArb).map(([a, b]) => interval(BigInt(Math.min(a, b)), BigInt(Math.max(a, b)))),
    { maxLength: 6 },
  );

  function members(items: readonly Interval[]): Uint8Array {
    const m = new Uint8Array(PORTS);
    for (const { lo, hi } of items) m.fill(1, Number(lo), Number(hi) + 1);
    return m;
  }

  function assertSetIs(set: IntervalSet, expected: Uint8Array) {
    // canonical: sorted, disjoint, non-adjacent, inside the port space
    set.forEach((x, i) => {
      assert.ok(x.lo <= x.hi && x.lo >= 0n && x.hi <= 65535n);
      if (i > 0) assert.ok(set[i - 1]!.hi + 1n < x.lo, "canonical");
    });
    assert.deepEqual(members(set), expected);
  }

  it("normalize, union, subtract and intersect keep exactly the right ports", () => {
    fc.assert(
      fc.property(portItemsArb, portItemsArb, (xs, ys) => {
        const [a, b] = [normalize(xs), normalize(ys)];
        const [ma, mb] = [members(xs), members(ys)];
        assertSetIs(a, ma);
        assertSetIs(
          union(a, b),
          ma.map((v, i) => v | mb[i]!),
        );
        assertSetIs(
          subtract(a, b),
          ma.map((v, i) => v & (1 - mb[i]!)),
        );
        assertSetIs(
          intersect(a, b),
          ma.map((v, i) => v & mb[i]!),
        );
        assert.equal(
          coversAll(a, 65535n),
          ma.every((v) => v === 1),
        );
        for (const p of [0, 1, 65534, 65535, ...xs.flatMap((x) => [Number(x.lo) - 1, Number(x.hi) + 1])]) {
          if (p >= 0 && p < PORTS) assert.equal(contains(a, BigInt(p)), ma[p] === 1, `port ${p}`);
        }
      }),
      { seed: SEED, numRuns: 150 },
    );
  });
});
