// Interval lookups for the evaluator's hot path: sorted, disjoint intervals as parallel arrays of their
// ends, searched by bisection without allocating. Ports are numbers. Addresses are bigints, which V8
// compares an order of magnitude slower than doubles, so a search can run on the nearest doubles of the
// key and the ends instead: rounding keeps order (a < b implies Number(a) <= Number(b)), so a double that
// differs from an end's decides the comparison, and only one equal to it leaves it to the bigints. For
// IPv4 the doubles are exact; for IPv6 they keep the top 53 bits, so the ends of a short prefix often
// round alike and comparing the bigints directly is cheaper unless the list is long.

/** Sorted, disjoint intervals of ports (or other values below 2^53) as numbers. */
export interface NumberIntervals {
  readonly lo: readonly number[];
  readonly hi: readonly number[];
}

/** Sorted, disjoint intervals of addresses, with the nearest double of every end. */
export interface BigIntervals {
  readonly lo: readonly bigint[];
  readonly hi: readonly bigint[];
  readonly loApprox: Float64Array;
  readonly hiApprox: Float64Array;
  /** Search with approxIndex: every end is exact as a double (IPv4), or the list is long enough to pay for converting the key. */
  readonly viaDoubles: boolean;
}

/** List lengths up to which comparing bigints is cheaper than converting the key (IPv6). */
const BIGINT_ONLY_MAX = 32;

type BigInterval = { readonly lo: bigint; readonly hi: bigint };

export function numberIntervals(set: readonly BigInterval[]): NumberIntervals {
  return { lo: set.map((iv) => Number(iv.lo)), hi: set.map((iv) => Number(iv.hi)) };
}

export function bigIntervals(set: readonly BigInterval[]): BigIntervals {
  return {
    lo: set.map((iv) => iv.lo),
    hi: set.map((iv) => iv.hi),
    loApprox: Float64Array.from(set, (iv) => Number(iv.lo)),
    hiApprox: Float64Array.from(set, (iv) => Number(iv.hi)),
    viaDoubles: set.length > BIGINT_ONLY_MAX || set.every((iv) => iv.hi <= MAX_EXACT),
  };
}

const MAX_EXACT = BigInt(Number.MAX_SAFE_INTEGER);

/** The index of the interval holding `key`, or -1. */
export function numberIndex(t: NumberIntervals, key: number): number {
  const { lo, hi } = t;
  let a = 0;
  let b = lo.length - 1;
  while (a <= b) {
    const mid = (a + b) >> 1;
    if (key < lo[mid]!) b = mid - 1;
    else if (key > hi[mid]!) a = mid + 1;
    else return mid;
  }
  return -1;
}

/** The index of the interval holding `key`, or -1. */
export function bigIndex(t: BigIntervals, key: bigint): number {
  const { lo, hi } = t;
  let a = 0;
  let b = lo.length - 1;
  while (a <= b) {
    const mid = (a + b) >> 1;
    if (key < lo[mid]!) b = mid - 1;
    else if (key > hi[mid]!) a = mid + 1;
    else return mid;
  }
  return -1;
}

/** bigIndex on the doubles; `approx` is Number(key). */
export function approxIndex(t: BigIntervals, key: bigint, approx: number): number {
  const { loApprox, hiApprox } = t;
  let a = 0;
  let b = loApprox.length - 1;
  while (a <= b) {
    const mid = (a + b) >> 1;
    const lo = loApprox[mid]!;
    const hi = hiApprox[mid]!;
    if (approx < lo) b = mid - 1;
    else if (approx > hi) a = mid + 1;
    else if (approx > lo && approx < hi) return mid;
    else if (key < t.lo[mid]!) b = mid - 1;
    else if (key > t.hi[mid]!) a = mid + 1;
    else return mid;
  }
  return -1;
}
