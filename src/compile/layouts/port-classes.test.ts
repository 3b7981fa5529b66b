import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { contains, normalize, type IntervalSet } from "../../net/interval.js";
import { decidingPieces, firstContaining, portSegments, type ClassRule, type SourceClass } from "./port-classes.js";

const set = (...pairs: [number, number][]): IntervalSet => normalize(pairs.map(([lo, hi]) => ({ lo: BigInt(lo), hi: BigInt(hi) })));
const cls = (v4: IntervalSet, v6: IntervalSet = []): SourceClass => ({ v4, v6 });
const pieces = (ps: { lo: bigint; hi: bigint; rule: number }[]) => ps.map((p) => [Number(p.lo), Number(p.hi), p.rule]);

describe("portSegments", () => {
  it("cuts overlapping port ranges into disjoint segments with the rules covering each", () => {
    const segs = portSegments([
      { protocol: 6, dports: [{ lo: 80, hi: 90 }] },
      {
        protocol: 6,
        dports: [
          { lo: 85, hi: 95 },
          { lo: 443, hi: 443 },
        ],
      },
      { protocol: 17, dports: [{ lo: 53, hi: 53 }] },
      { protocol: 6, dports: [{ lo: 443, hi: 443 }] },
    ]);
    assert.deepEqual([...segs.keys()], [6, 17]);
    assert.deepEqual(segs.get(6), [
      { lo: 80, hi: 84, cover: [0] },
      { lo: 85, hi: 90, cover: [0, 1] },
      { lo: 91, hi: 95, cover: [1] },
      { lo: 443, hi: 443, cover: [1, 3] },
    ]);
    assert.deepEqual(segs.get(17), [{ lo: 53, hi: 53, cover: [2] }]);
  });

  it("merges adjacent segments of the same rules and reaches port 65535", () => {
    const segs = portSegments([
      {
        protocol: 6,
        dports: [
          { lo: 0, hi: 9 },
          { lo: 10, hi: 65535 },
        ],
      },
    ]);
    assert.deepEqual(segs.get(6), [{ lo: 0, hi: 65535, cover: [0] }]);
  });
});

describe("firstContaining", () => {
  it("gives each address to the first set holding it", () => {
    assert.deepEqual(pieces(firstContaining([set([10, 20]), set([0, 30]), set([15, 40])])), [
      [0, 9, 1],
      [10, 20, 0],
      [21, 30, 1],
      [31, 40, 2],
    ]);
    assert.deepEqual(pieces(firstContaining([set(), set([5, 5])])), [[5, 5, 1]]);
  });
});

describe("decidingPieces", () => {
  const rules: ClassRule[] = [
    { protocol: 6, dports: [{ lo: 80, hi: 90 }], allowed: cls(set([0, 10])) },
    { protocol: 6, dports: [{ lo: 85, hi: 95 }], allowed: cls(set([5, 20])) },
  ];
  it("block mode: the first rule admitting a source decides; the union is decided", () => {
    assert.deepEqual(pieces(decidingPieces(rules, [0, 1], "block", 4)), [
      [0, 10, 0],
      [11, 20, 1],
    ]);
  });
  it("accept mode: the first rule refusing a source decides; only the intersection passes", () => {
    const ps = decidingPieces(rules, [0, 1], "accept", 4);
    assert.deepEqual(pieces(ps).slice(0, 2), [
      [0, 4, 1],
      [11, 4294967295, 0],
    ]);
    assert.equal(ps.length, 2);
    // IPv6: neither rule admits any, so the first rule refuses all of it.
    assert.deepEqual(decidingPieces(rules, [0, 1], "accept", 6), [{ lo: 0n, hi: (1n << 128n) - 1n, rule: 0 }]);
  });

  it("matches a brute-force model of the per-rule chain", () => {
    const ruleArb = fc.record({
      protocol: fc.constantFrom(6, 17),
      dports: fc.array(fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 5 })), { minLength: 1, maxLength: 3 }),
      src: fc.array(fc.tuple(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 8 })), { maxLength: 3 }),
    });
    fc.assert(
      fc.property(fc.array(ruleArb, { maxLength: 5 }), fc.constantFrom("accept" as const, "block" as const), (raw, mode) => {
        const rules: ClassRule[] = raw.map((r) => ({
          protocol: r.protocol,
          dports: normalize(r.dports.map(([lo, n]) => ({ lo: BigInt(lo), hi: BigInt(lo + n) }))).map((i) => ({ lo: Number(i.lo), hi: Number(i.hi) })),
          allowed: cls(set(...r.src.map(([lo, n]): [number, number] => [lo, lo + n]))),
        }));
        const segs = portSegments(rules);
        for (const protocol of [6, 17]) {
          for (let port = 0; port <= 46; port++) {
            const covering = rules.flatMap((r, i) => (r.protocol === protocol && r.dports.some((d) => d.lo <= port && port <= d.hi) ? [i] : []));
            const seg = segs.get(protocol)?.find((s) => s.lo <= port && port <= s.hi);
            assert.deepEqual(seg?.cover ?? [], covering);
            if (!seg) continue;
            const ps = decidingPieces(rules, seg.cover, mode, 4);
            for (let src = 0; src <= 40; src++) {
              // The per-rule chain: the first covering rule that acts on the source decides.
              const acts = (i: number) => contains(rules[i]!.allowed.v4, BigInt(src)) === (mode === "block");
              const expected = covering.find(acts);
              const got = ps.find((p) => p.lo <= BigInt(src) && BigInt(src) <= p.hi)?.rule;
              assert.equal(got, expected);
            }
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
