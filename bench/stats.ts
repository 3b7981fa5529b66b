// Statistics of paired runs (performance.md, "Method"): the CPU's speed drifts, so every run against
// the firewall is paired with a run against the reference measured right next to it, in ABBA order,
// and the figure is the median over pairs of the per-pair ratio (or difference).

export type Side = "fw" | "ref";

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError("median of no values");
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Pair k runs the reference first when k is even and the firewall first when k is odd: ref fw, fw ref, ref fw … */
export function abbaOrder(k: number): readonly [Side, Side] {
  return k % 2 === 0 ? ["ref", "fw"] : ["fw", "ref"];
}

/** One pair: nanoseconds per packet against the firewall and against the reference. */
export interface Pair {
  readonly fwNs: number;
  readonly refNs: number;
}

export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

export function spread(values: readonly number[]): Spread {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

export interface PairedSummary {
  /** Packet rate with the firewall relative to without: median over pairs of refNs / fwNs. */
  readonly rateRatio: Spread;
  /** Firewall cost per packet: median over pairs of fwNs − refNs. */
  readonly overheadNs: Spread;
  readonly fwNs: Spread;
  readonly refNs: Spread;
  readonly pairs: number;
}

/** Median of paired ratios — not the ratio of medians, which would mix runs made at different CPU speeds. */
export function summarizePairs(pairs: readonly Pair[]): PairedSummary {
  if (pairs.length === 0) throw new RangeError("no pairs");
  for (const p of pairs) {
    if (!(p.fwNs > 0 && p.refNs > 0)) throw new RangeError(`a run measured no time: ${JSON.stringify(p)}`);
  }
  return {
    rateRatio: spread(pairs.map((p) => p.refNs / p.fwNs)),
    overheadNs: spread(pairs.map((p) => p.fwNs - p.refNs)),
    fwNs: spread(pairs.map((p) => p.fwNs)),
    refNs: spread(pairs.map((p) => p.refNs)),
    pairs: pairs.length,
  };
}

/** Operations per second from repeated timings: median of count / seconds. */
export function ratePerSecond(samples: readonly { readonly count: number; readonly ms: number }[]): number {
  return median(samples.map((s) => (s.count * 1000) / s.ms));
}
