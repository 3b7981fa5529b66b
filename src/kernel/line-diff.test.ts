import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { align, unifiedDiff, type KeyedLine } from "./line-diff.js";

const lines = (...keys: string[]): KeyedLine[] => keys.map((k) => ({ key: k, text: k.toUpperCase() }));

/** LCS length by plain recursion with memo (independent of the implementation under test). */
function lcsLength(a: readonly string[], b: readonly string[]): number {
  const memo = new Map<string, number>();
  const go = (i: number, j: number): number => {
    if (i === a.length || j === b.length) return 0;
    const k = `${i},${j}`;
    if (!memo.has(k)) memo.set(k, a[i] === b[j] ? 1 + go(i + 1, j + 1) : Math.max(go(i + 1, j), go(i, j + 1)));
    return memo.get(k)!;
  };
  return go(0, 0);
}

function checkSteps(a: readonly string[], b: readonly string[]): boolean {
  const steps = align(a, b);
  const aIdx = steps.filter((s) => s.op !== "+").map((s) => s.a);
  const bIdx = steps.filter((s) => s.op !== "-").map((s) => s.b);
  return (
    aIdx.every((v, i) => v === i) &&
    aIdx.length === a.length &&
    bIdx.every((v, i) => v === i) &&
    bIdx.length === b.length &&
    steps.filter((s) => s.op === "=").every((s) => a[s.a!] === b[s.b!])
  );
}

describe("align", () => {
  it("walks both sides in order, pairs equal keys, and keeps a longest common subsequence", () => {
    const side = fc.array(fc.constantFrom("a", "b", "c", "d"), { maxLength: 9 });
    fc.assert(fc.property(side, side, (a, b) => checkSteps(a, b) && align(a, b).filter((s) => s.op === "=").length === lcsLength(a, b)));
  });

  it("stays a correct (if not minimal) alignment above the LCS size bound", () => {
    const a = Array.from({ length: 2100 }, (_, i) => `a${i}`);
    const b = ["x", ...Array.from({ length: 2100 }, (_, i) => `b${i}`), "y"];
    assert.ok(checkSteps(a, b));
  });
});

describe("unifiedDiff", () => {
  it("is empty when the keys are equal, whatever the texts", () => {
    assert.equal(
      unifiedDiff(
        lines("a", "b"),
        [
          { key: "a", text: "other" },
          { key: "b", text: "b" },
        ],
        "x",
        "y",
      ),
      "",
    );
  });

  it("prints hunks with context and line ranges", () => {
    const a = lines("1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12");
    const b = lines("1", "2", "3", "4", "5", "new", "6", "7", "8", "9", "10", "11");
    assert.equal(
      unifiedDiff(a, b, "live", "candidate", 2),
      ["--- live", "+++ candidate", "@@ -4,4 +4,5 @@", " 4", " 5", "+NEW", " 6", " 7", "@@ -10,3 +11,2 @@", " 10", " 11", "-12", ""].join("\n"),
    );
  });

  it("a new file starts at -0,0", () => {
    assert.equal(unifiedDiff([], lines("a", "b"), "live", "candidate"), "--- live\n+++ candidate\n@@ -0,0 +1,2 @@\n+A\n+B\n");
  });
});
