// Interval lookups for the evaluator's hot path: sorted, disjoint intervals as parallel arrays of their
// ends, searched by bisection without allocating. Ports are numbers. Addresses are bigints; V8 compares
// two bigints several times slower than two doubles, so a search can run on the nearest doubles of the
// key and the ends instead: rounding keeps order (a < b implies Number(a) <= Number(b)), so a double that
// differs from an end's decides the comparison, and only one equal to it leaves it to the bigints. For
// IPv4 the doubles are exact; for IPv6 they keep the top 53 bits, so the ends of a short prefix often
// round alike. Converting the key (Number(bigint)) costs about as much as a dozen bigint comparisons: it
// is made once per key, when a long list is searched or after a few short IPv4 ones (a per-rule chain
// searches one short set per rule).

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
  /** Every end is exact as a double (IPv4). */
  readonly exact: boolean;
  /** Long enough that a search on the doubles pays for converting the key. */
  readonly long: boolean;
}

/** An address to look up, with its double once made (NaN until then) and the searches made without it. */
export interface AddrKey {
  value: bigint;
  approx: number;
  bigintSearches: number;
}

/** Lists longer than this are searched on the doubles. */
const LONG = 32;
/** Short exact lists searched with a key before converting it pays. */
const SEARCHES_BEFORE_CONVERTING = 4;
const MAX_EXACT = BigInt(Number.MAX_SAFE_INTEGER);

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
    exact: set.every((iv) => iv.hi <= MAX_EXACT),
    long: set.length > LONG,
  };
}

/** The key set in place to a new address (a Subject's keys are reused from packet to packet). */
export function resetKey(k: AddrKey, value: bigint): void {
  k.value = value;
  k.approx = NaN;
  k.bigintSearches = 0;
}

export function newKey(): AddrKey {
  return { value: 0n, approx: NaN, bigintSearches: 0 };
}

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

/** The index of the interval holding the key's address, or -1; on the doubles or the bigints, whichever is cheaper. */
export function addrIndex(t: BigIntervals, k: AddrKey): number {
  if (Number.isNaN(k.approx)) {
    if (!t.long && (!t.exact || k.bigintSearches++ < SEARCHES_BEFORE_CONVERTING)) return bigIndex(t, k.value);
    k.approx = Number(k.value);
  }
  return t.long || t.exact ? approxIndex(t, k.value, k.approx) : bigIndex(t, k.value);
}

/** Bisection on the bigints. */
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

/** Bisection on the doubles, the bigints deciding where they are equal; `approx` is Number(key). */
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
