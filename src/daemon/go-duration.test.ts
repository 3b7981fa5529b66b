import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { durationMs, DurationError, formatGoDuration, parseGoDuration } from "./go-duration.js";

const S = 1_000_000_000n;

describe("Go durations", () => {
  it("parse as time.ParseDuration does", () => {
    const cases: [string, bigint][] = [
      ["0", 0n],
      ["30s", 30n * S],
      ["1m30s", 90n * S],
      ["2h", 7200n * S],
      ["500ms", 500_000_000n],
      ["1.5h", 5400n * S],
      [".5s", S / 2n],
      ["5.s", 5n * S],
      ["1h2m3s4ms5us6ns", 3723n * S + 4_005_006n],
      ["1\u00b5s", 1000n],
      ["1\u03bcs", 1000n],
      ["+2s", 2n * S],
      ["-1m", -60n * S],
      ["1.0000000001s", S], // beyond nanoseconds is cut off
      ["9223372036854775807ns", (1n << 63n) - 1n],
    ];
    for (const [text, ns] of cases) assert.equal(parseGoDuration(text), ns, text);
  });

  it("reject what Go rejects, with Go's messages", () => {
    const cases: [string, string][] = [
      ["", 'time: invalid duration ""'],
      ["s", 'time: invalid duration "s"'],
      [".s", 'time: invalid duration ".s"'],
      ["1", 'time: missing unit in duration "1"'],
      ["1m30", 'time: missing unit in duration "1m30"'],
      ["1d", 'time: unknown unit "d" in duration "1d"'],
      ["1H", 'time: unknown unit "H" in duration "1H"'],
      ["1 s", 'time: unknown unit " s" in duration "1 s"'],
      ["9223372036854775808ns", 'time: invalid duration "9223372036854775808ns"'],
    ];
    for (const [text, message] of cases) assert.throws(() => parseGoDuration(text), new DurationError(message), text);
  });

  it("print as Duration.String does", () => {
    const cases: [bigint, string][] = [
      [0n, "0s"],
      [60n * S, "1m0s"],
      [90n * S, "1m30s"],
      [2n * S, "2s"],
      [3600n * S, "1h0m0s"],
      [3723n * S, "1h2m3s"],
      [S + S / 2n, "1.5s"],
      [61n * S + S / 2n, "1m1.5s"],
      [500_000_000n, "500ms"],
      [1_500_000n, "1.5ms"],
      [1500n, "1.5\u00b5s"],
      [7n, "7ns"],
      [-90n * S, "-1m30s"],
    ];
    for (const [ns, text] of cases) assert.equal(formatGoDuration(ns), text, text);
  });

  it("print what parses back to the same value", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(1n << 62n), max: 1n << 62n }), (ns) => {
        assert.equal(parseGoDuration(formatGoDuration(ns)), ns);
      }),
    );
  });

  it("convert to whole milliseconds, rounding up", () => {
    assert.equal(durationMs(60n * S), 60_000);
    assert.equal(durationMs(1n), 1);
    assert.equal(durationMs(1_500_001n), 2);
  });
});
