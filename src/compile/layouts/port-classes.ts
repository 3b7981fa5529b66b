// Cut the user rules' (protocol, port range) pairs into disjoint segments, each with the rules covering
// it, and say for every source address which covering rule decides there: the first one in document
// order that acts on it, as in the per-rule chain — in block mode the first rule admitting the source
// (its accept), in accept mode the first rule not admitting it (its drop). The sources some rule decides
// are therefore the union of the covering rules' sets in block mode and the complement of their
// intersection in accept mode (semantics §5.8, performance.md "shape to emit").
import { FAMILY_MAX, type Family } from "../../net/address.js";
import type { IntervalSet } from "../../net/interval.js";
import type { PortSpan } from "../ir.js";

export type Mode = "accept" | "block";

export interface SourceClass {
  readonly v4: IntervalSet;
  readonly v6: IntervalSet;
}

export interface ClassRule {
  readonly protocol: number;
  readonly dports: readonly PortSpan[];
  /** Sources the rule admits per family (its effective source set; all/none per the truth table). */
  readonly allowed: SourceClass;
}

export interface PortSegment {
  readonly lo: number;
  readonly hi: number;
  /** Indices of the rules covering the segment, ascending (document order). */
  readonly cover: readonly number[];
}

/** Source addresses lo..hi, decided by rule `rule` (an index into the rules). */
export interface Piece {
  readonly lo: bigint;
  readonly hi: bigint;
  readonly rule: number;
}

export function familyOf(c: SourceClass, f: Family): IntervalSet {
  return f === 4 ? c.v4 : c.v6;
}

/** Per protocol number (ascending), disjoint segments sorted by port; adjacent segments with the same cover are merged. */
export function portSegments(rules: readonly Pick<ClassRule, "protocol" | "dports">[]): Map<number, PortSegment[]> {
  const byProtocol = new Map<number, { port: number; rule: number; start: boolean }[]>();
  rules.forEach((r, i) => {
    const events = byProtocol.get(r.protocol) ?? [];
    byProtocol.set(r.protocol, events);
    for (const p of r.dports) events.push({ port: p.lo, rule: i, start: true }, { port: p.hi + 1, rule: i, start: false });
  });

  const segments = new Map<number, PortSegment[]>();
  for (const [protocol, events] of [...byProtocol].sort((a, b) => a[0] - b[0])) {
    events.sort((a, b) => a.port - b.port);
    // Counts, not flags: validation keeps one document's ranges disjoint, but nothing here relies on it.
    const active = new Map<number, number>();
    const out: PortSegment[] = [];
    for (let i = 0; i < events.length;) {
      const port = events[i]!.port;
      for (; i < events.length && events[i]!.port === port; i++) {
        const e = events[i]!;
        const n = (active.get(e.rule) ?? 0) + (e.start ? 1 : -1);
        if (n === 0) active.delete(e.rule);
        else active.set(e.rule, n);
      }
      if (active.size === 0 || i >= events.length) continue;
      const hi = events[i]!.port - 1;
      const cover = [...active.keys()].sort((a, b) => a - b);
      const last = out[out.length - 1];
      if (last && last.hi + 1 === port && sameCover(last.cover, cover)) out[out.length - 1] = { ...last, hi };
      else out.push({ lo: port, hi, cover });
    }
    segments.set(protocol, out);
  }
  return segments;
}

function sameCover(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The addresses of [0, max] outside a canonical set. */
function complement(set: IntervalSet, max: bigint): IntervalSet {
  const out: { lo: bigint; hi: bigint }[] = [];
  let next = 0n;
  for (const iv of set) {
    if (iv.lo > next) out.push({ lo: next, hi: iv.lo - 1n });
    next = iv.hi + 1n;
  }
  if (next <= max) out.push({ lo: next, hi: max });
  return out;
}

/** A binary min-heap of rule indices. */
class MinHeap {
  private readonly items: number[] = [];
  get size(): number {
    return this.items.length;
  }
  peek(): number | undefined {
    return this.items[0];
  }
  push(v: number): void {
    const a = this.items;
    a.push(v);
    for (let i = a.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if (a[parent]! <= v) break;
      a[i] = a[parent]!;
      a[parent] = v;
      i = parent;
    }
  }
  pop(): void {
    const a = this.items;
    const last = a.pop()!;
    if (a.length === 0) return;
    a[0] = last;
    for (let i = 0; ;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < a.length && a[l]! < a[m]!) m = l;
      if (r < a.length && a[r]! < a[m]!) m = r;
      if (m === i) break;
      [a[i], a[m]] = [a[m]!, a[i]!];
      i = m;
    }
  }
}

/**
 * For sets given in priority order, the sorted disjoint pieces where each address belongs to the first
 * set containing it, as (lo, hi, index into `sets`). A sweep over the sets' boundaries with a min-heap of
 * the sets open at each point: O(m log m) in the number of intervals, however many sets overlap.
 */
export function firstContaining(sets: readonly IntervalSet[]): Piece[] {
  const events: { at: bigint; set: number; open: boolean }[] = [];
  sets.forEach((s, i) => {
    for (const iv of s) events.push({ at: iv.lo, set: i, open: true }, { at: iv.hi + 1n, set: i, open: false });
  });
  events.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  const open = new Uint8Array(sets.length);
  const heap = new MinHeap();
  const out: Piece[] = [];
  for (let i = 0; i < events.length;) {
    const at = events[i]!.at;
    for (; i < events.length && events[i]!.at === at; i++) {
      const e = events[i]!;
      open[e.set] = e.open ? 1 : 0;
      if (e.open) heap.push(e.set);
    }
    while (heap.size > 0 && open[heap.peek()!] === 0) heap.pop(); // closed sets leave lazily
    if (heap.size === 0 || i >= events.length) continue;
    const rule = heap.peek()!;
    const hi = events[i]!.at - 1n;
    const last = out[out.length - 1];
    if (last && last.rule === rule && last.hi + 1n === at) out[out.length - 1] = { ...last, hi };
    else out.push({ lo: at, hi, rule });
  }
  return out;
}

/**
 * Which covering rule decides each source address of a family on a segment: in block mode the first
 * admitting it, in accept mode the first not admitting it. Addresses no rule decides are absent (block:
 * the chain goes on; accept: the packet passes). Pieces carry indices into `rules`.
 */
export function decidingPieces(rules: readonly ClassRule[], cover: readonly number[], mode: Mode, family: Family): Piece[] {
  const acting = cover.map((r) => {
    const allowed = familyOf(rules[r]!.allowed, family);
    return mode === "block" ? allowed : complement(allowed, FAMILY_MAX[family]);
  });
  return firstContaining(acting).map((p) => ({ ...p, rule: cover[p.rule]! }));
}
