import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { contains, normalize, type IntervalSet } from "../../net/interval.js";
import { portClasses, type ClassRule, type SourceClass } from "./port-classes.js";

const set = (...pairs: [number, number][]): IntervalSet => normalize(pairs.map(([lo, hi]) => ({ lo: BigInt(lo), hi: BigInt(hi) })));
const cls = (v4: IntervalSet, v6: IntervalSet = []): SourceClass => ({ v4, v6 });

describe("portClasses", () => {
  it("gives rules on distinct ports their own segments and shares identical classes", () => {
    const rules: ClassRule[] = [
      { protocol: 6, dports: [{ lo: 10250, hi: 10250 }], allowed: cls(set([10, 20])) },
      { protocol: 6, dports: [{ lo: 50000, hi: 50001 }], allowed: cls(set([10, 20])) },
      { protocol: 17, dports: [{ lo: 4789, hi: 4789 }], allowed: cls(set([30, 40])) },
    ];
    const pc = portClasses(rules, "block");
    assert.equal(pc.classes.length, 2);
    assert.deepEqual(pc.segments.get(6), [
      { lo: 10250, hi: 10250, classId: 0 },
      { lo: 50000, hi: 50001, classId: 0 },
    ]);
    assert.deepEqual(pc.segments.get(17), [{ lo: 4789, hi: 4789, classId: 1 }]);
  });

  it("unions overlapping rules in block mode and intersects them in accept mode", () => {
    const rules: ClassRule[] = [
      { protocol: 6, dports: [{ lo: 80, hi: 90 }], allowed: cls(set([0, 10])) },
      { protocol: 6, dports: [{ lo: 85, hi: 95 }], allowed: cls(set([5, 20])) },
    ];
    const block = portClasses(rules, "block");
    const seg = (pc: typeof block) => pc.segments.get(6)!.map((s) => [s.lo, s.hi, pc.classes[s.classId]!.v4.map((i) => [Number(i.lo), Number(i.hi)])]);
    assert.deepEqual(seg(block), [
      [80, 84, [[0, 10]]],
      [85, 90, [[0, 20]]],
      [91, 95, [[5, 20]]],
    ]);
    assert.deepEqual(seg(portClasses(rules, "accept")), [
      [80, 84, [[0, 10]]],
      [85, 90, [[5, 10]]],
      [91, 95, [[5, 20]]],
    ]);
  });

  it("matches a brute-force model of the per-rule chain", () => {
    const ruleArb = fc.record({
      protocol: fc.constantFrom(6, 17),
      dports: fc.array(fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 5 })), { minLength: 1, maxLength: 3 }),
      src: fc.array(fc.tuple(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 8 })), { maxLength: 3 }),
    });
    fc.assert(
      fc.property(fc.array(ruleArb, { maxLength: 5 }), fc.constantFrom("accept", "block" as const), (raw, mode) => {
        const rules: ClassRule[] = raw.map((r) => ({
          protocol: r.protocol,
          dports: normalize(r.dports.map(([lo, n]) => ({ lo: BigInt(lo), hi: BigInt(lo + n) }))).map((i) => ({ lo: Number(i.lo), hi: Number(i.hi) })),
          allowed: cls(set(...r.src.map(([lo, n]): [number, number] => [lo, lo + n]))),
        }));
        const pc = portClasses(rules, mode);
        for (const protocol of [6, 17]) {
          for (let port = 0; port <= 46; port++) {
            for (let src = 0; src <= 40; src++) {
              const covering = rules.filter((r) => r.protocol === protocol && r.dports.some((d) => d.lo <= port && port <= d.hi));
              const admitted = covering.map((r) => contains(r.allowed.v4, BigInt(src)));
              const seg = pc.segments.get(protocol)?.find((s) => s.lo <= port && port <= s.hi);
              assert.equal(seg !== undefined, covering.length > 0);
              if (!seg) continue;
              const expected = mode === "block" ? admitted.some(Boolean) : admitted.every(Boolean);
              assert.equal(contains(pc.classes[seg.classId]!.v4, BigInt(src)), expected);
            }
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});
