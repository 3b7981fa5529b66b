// Closed integer intervals and sets of them, over bigint so one implementation serves
// ports (16 bit), IPv4 (32 bit) and IPv6 (128 bit).

/** A closed interval [lo, hi] with lo <= hi. */
export interface Interval {
  readonly lo: bigint;
  readonly hi: bigint;
}

/** Sorted, disjoint, non-adjacent intervals (the canonical form every function here returns). */
export type IntervalSet = readonly Interval[];

export function interval(lo: bigint, hi: bigint): Interval {
  return { lo, hi };
}

/** Sort by lo and merge overlapping and adjacent intervals (a.hi + 1 >= b.lo). */
export function normalize(items: readonly Interval[]): IntervalSet {
  const sorted = [...items].sort((a, b) => (a.lo < b.lo ? -1 : a.lo > b.lo ? 1 : 0));
  const out: Interval[] = [];
  for (const cur of sorted) {
    const last = out[out.length - 1];
    if (last && last.hi + 1n >= cur.lo) {
      if (cur.hi > last.hi) out[out.length - 1] = { lo: last.lo, hi: cur.hi };
    } else {
      out.push(cur);
    }
  }
  return out;
}

export function union(a: IntervalSet, b: IntervalSet): IntervalSet {
  return normalize([...a, ...b]);
}

/** a minus b; both canonical. */
export function subtract(a: IntervalSet, b: IntervalSet): IntervalSet {
  const out: Interval[] = [];
  let j = 0;
  for (const cur of a) {
    let lo = cur.lo;
    const hi = cur.hi;
    while (j < b.length && b[j]!.hi < lo) j++;
    let k = j;
    while (k < b.length && b[k]!.lo <= hi && lo <= hi) {
      const cut = b[k]!;
      if (cut.lo > lo) out.push({ lo, hi: cut.lo - 1n });
      lo = cut.hi + 1n;
      k++;
    }
    if (lo <= hi) out.push({ lo, hi });
  }
  return out;
}

export function intersect(a: IntervalSet, b: IntervalSet): IntervalSet {
  const out: Interval[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    const lo = x.lo > y.lo ? x.lo : y.lo;
    const hi = x.hi < y.hi ? x.hi : y.hi;
    if (lo <= hi) out.push({ lo, hi });
    if (x.hi < y.hi) i++;
    else j++;
  }
  return out;
}

export function contains(set: IntervalSet, value: bigint): boolean {
  let lo = 0;
  let hi = set.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const iv = set[mid]!;
    if (value < iv.lo) hi = mid - 1;
    else if (value > iv.hi) lo = mid + 1;
    else return true;
  }
  return false;
}

export function equals(a: IntervalSet, b: IntervalSet): boolean {
  return a.length === b.length && a.every((x, i) => x.lo === b[i]!.lo && x.hi === b[i]!.hi);
}

export function overlaps(a: IntervalSet, b: IntervalSet): boolean {
  return intersect(a, b).length > 0;
}

/** True when the set is exactly the one interval [0, max]. */
export function coversAll(set: IntervalSet, max: bigint): boolean {
  return set.length === 1 && set[0]!.lo === 0n && set[0]!.hi === max;
}
