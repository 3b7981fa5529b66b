// Cut the user rules' (protocol, port range) pairs into disjoint segments and give each segment the
// source class that the per-rule layout would admit there: the union of the covering rules' sets in
// block mode, their intersection in accept mode (semantics §5.8, performance.md "shape to emit").
import { FAMILY_MAX, type Family } from "../../net/address.js";
import { intersect, union, type IntervalSet } from "../../net/interval.js";
import type { PortSpan } from "../ir.js";

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
  /** Index into PortClasses.classes. */
  readonly classId: number;
}

export interface PortClasses {
  /** Per protocol number, disjoint segments sorted by port; adjacent segments of one class are merged. */
  readonly segments: ReadonlyMap<number, readonly PortSegment[]>;
  readonly classes: readonly SourceClass[];
}

const ALL: SourceClass = { v4: [{ lo: 0n, hi: FAMILY_MAX[4] }], v6: [{ lo: 0n, hi: FAMILY_MAX[6] }] };

function combine(sets: readonly SourceClass[], mode: "accept" | "block"): SourceClass {
  const op = mode === "block" ? union : intersect;
  let acc: SourceClass = mode === "block" ? { v4: [], v6: [] } : ALL;
  for (const s of sets) acc = { v4: op(acc.v4, s.v4), v6: op(acc.v6, s.v6) };
  return acc;
}

const keyOf = (c: SourceClass) => (["v4", "v6"] as const).map((f) => c[f].map((iv) => `${iv.lo}-${iv.hi}`).join(",")).join("|");

export function familyOf(c: SourceClass, f: Family): IntervalSet {
  return f === 4 ? c.v4 : c.v6;
}

export function portClasses(rules: readonly ClassRule[], mode: "accept" | "block"): PortClasses {
  const classes: SourceClass[] = [];
  const classIds = new Map<string, number>();
  const classId = (c: SourceClass) => {
    const k = keyOf(c);
    let id = classIds.get(k);
    if (id === undefined) {
      id = classes.length;
      classes.push(c);
      classIds.set(k, id);
    }
    return id;
  };

  const byProtocol = new Map<number, { port: number; rule: number; start: boolean }[]>();
  rules.forEach((r, i) => {
    const events = byProtocol.get(r.protocol) ?? [];
    byProtocol.set(r.protocol, events);
    for (const p of r.dports) events.push({ port: p.lo, rule: i, start: true }, { port: p.hi + 1, rule: i, start: false });
  });

  const segments = new Map<number, PortSegment[]>();
  for (const [protocol, events] of [...byProtocol].sort((a, b) => a[0] - b[0])) {
    events.sort((a, b) => a.port - b.port);
    // A rule may list the same port twice only across documents; within one it is validated disjoint.
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
      // Document order matters only for readability; union and intersection are order-free.
      const id = classId(
        combine(
          [...active.keys()].sort((a, b) => a - b).map((r) => rules[r]!.allowed),
          mode,
        ),
      );
      const last = out[out.length - 1];
      if (last && last.classId === id && last.hi + 1 === port) out[out.length - 1] = { ...last, hi };
      else out.push({ lo: port, hi, classId: id });
    }
    segments.set(protocol, out);
  }
  return { segments, classes };
}
