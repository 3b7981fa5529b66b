// Go's time.Duration syntax (`30s`, `1m30s`, `2h`, `500ms`, `1.5h`), parsed and printed as Go's
// time.ParseDuration and Duration.String do, so `--timeout` reads and prints as talosctl's. Durations
// are nanoseconds in a bigint (Go's int64; no float rounding).

const UNITS: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  "\u00b5s": 1_000n, // µ (micro sign)
  "\u03bcs": 1_000n, // μ (Greek mu)
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

const MAX = (1n << 63n) - 1n;

export class DurationError extends Error {}

/** Nanoseconds, or a DurationError with Go's message (`time: unknown unit "d" in duration "1d"`). */
export function parseGoDuration(text: string): bigint {
  const quoted = JSON.stringify(text);
  const invalid = () => new DurationError(`time: invalid duration ${quoted}`);
  let s = text;
  let negative = false;
  if (s[0] === "-" || s[0] === "+") {
    negative = s[0] === "-";
    s = s.slice(1);
  }
  if (s === "0") return 0n;
  if (s === "") throw invalid();
  let total = 0n;
  while (s !== "") {
    const m = /^(\d*)(?:\.(\d*))?/.exec(s)!;
    const [whole, int = "", frac] = m;
    if (int === "" && (frac === undefined || frac === "")) throw invalid();
    s = s.slice(whole.length);
    const unitText = /^[^\d.]*/.exec(s)![0];
    if (unitText === "") throw new DurationError(`time: missing unit in duration ${quoted}`);
    s = s.slice(unitText.length);
    const unit = UNITS[unitText];
    if (unit === undefined) throw new DurationError(`time: unknown unit ${JSON.stringify(unitText)} in duration ${quoted}`);
    let value = BigInt(int || "0") * unit;
    if (frac) value += (BigInt(frac) * unit) / 10n ** BigInt(frac.length);
    total += value;
    if (total > MAX + (negative ? 1n : 0n)) throw invalid();
  }
  return negative ? -total : total;
}

/** Digits of `v`'s last `prec` decimal places without trailing zeros (".5"), and `v` without them. */
function fraction(v: bigint, prec: number): [string, bigint] {
  let digits = "";
  let print = false;
  for (let i = 0; i < prec; i++) {
    const d = v % 10n;
    print ||= d !== 0n;
    if (print) digits = `${d}${digits}`;
    v /= 10n;
  }
  return [print ? `.${digits}` : "", v];
}

/** Go's Duration.String: `1m0s`, `1h30m0s`, `1.5s`, `500ms`, `0s`. */
export function formatGoDuration(ns: bigint): string {
  const sign = ns < 0n ? "-" : "";
  let u = ns < 0n ? -ns : ns;
  if (u === 0n) return "0s";
  if (u < 1_000_000_000n) {
    const [prec, unit] = u < 1_000n ? [0, "ns"] : u < 1_000_000n ? [3, "\u00b5s"] : [6, "ms"];
    const [frac, rest] = fraction(u, prec);
    return `${sign}${rest}${frac}${unit}`;
  }
  const [frac, secs] = fraction(u, 9);
  u = secs;
  let out = `${u % 60n}${frac}s`;
  u /= 60n;
  if (u > 0n) {
    out = `${u % 60n}m${out}`;
    u /= 60n;
    if (u > 0n) out = `${u}h${out}`;
  }
  return sign + out;
}

/** Milliseconds for timers and deadlines (rounded up, so a positive duration never becomes 0). */
export function durationMs(ns: bigint): number {
  return Number((ns + 999_999n) / 1_000_000n);
}
