// One IR rule → 0, 1 or 2 kernel rules: the IPv4/IPv6 truth table of §5.6, quirk included, and the
// pre/family/post assembly of §5.7.
import { FAMILY_MAX, type Family } from "../net/address.js";
import { coversAll, normalize } from "../net/interval.js";
import { familySet } from "../net/source-set.js";
import type { AddrMatch, IrRule } from "./ir.js";
import type { Expr, KernelRule } from "./ruleset.js";

const FAMILIES: readonly Family[] = [4, 6];

export function lowerRule(rule: IrRule): KernelRule[] {
  const pre: Expr[] = [];
  if (rule.iifname) pre.push({ type: "iifname", op: rule.iifname.negate ? "!=" : "==", names: rule.iifname.names });
  if (rule.ctState) pre.push({ type: "ctState", states: rule.ctState });
  // Protocol 0 (no `protocol`) with ports: the port test goes before `meta l4proto 0`. Same match, but
  // nft 1.0.6 aborts when it lists a `th dport` set whose l4proto dependency is 0 (docs/verified.md),
  // which would break `nft list ruleset` on the whole host.
  const l4proto: Expr | null = rule.l4 ? { type: "l4proto", protocol: rule.l4.protocol } : null;
  const l4protoAfterPorts = rule.l4?.protocol === 0 && Boolean(rule.l4.dports?.length);
  if (l4proto && !l4protoAfterPorts) pre.push(l4proto);

  const post: Expr[] = [];
  if (rule.l4?.dports?.length) post.push({ type: "dport", set: normalize(rule.l4.dports.map((p) => ({ lo: BigInt(p.lo), hi: BigInt(p.hi) }))) });
  if (l4proto && l4protoAfterPorts) post.push(l4proto);
  if (rule.l4?.icmpTypes?.length) post.push({ type: "icmpType", types: rule.l4.icmpTypes });
  if (rule.limit) post.push({ type: "limit", rate: rule.limit.rate, burst: rule.limit.burst });
  if (rule.counter) post.push({ type: "counter" });
  post.push({ type: "verdict", verdict: rule.verdict });

  const matches = (
    [
      ["saddr", rule.src],
      ["daddr", rule.dst],
    ] as const
  ).filter((m): m is readonly ["saddr" | "daddr", AddrMatch] => m[1] !== undefined);
  if (matches.length === 0) return [{ exprs: [...pre, ...post], origin: rule.origin }];

  const activated = new Map<Family, Expr[]>();
  for (const [field, match] of matches) {
    const sets = { 4: familySet(match.include, match.exclude, 4), 6: familySet(match.include, match.exclude, 6) };
    const all = (f: Family) => coversAll(sets[f], FAMILY_MAX[f]);
    const none = (f: Family) => sets[f].length === 0;
    if (!match.invert && none(4) && none(6)) return [];
    if (match.invert && all(4) && all(6)) return [];
    for (const f of FAMILIES) {
      if (match.invert ? all(f) : none(f)) continue; // this match does not activate F
      const tests = activated.get(f) ?? [];
      activated.set(f, tests);
      if (!none(f) && !all(f)) tests.push({ type: "addr", field, family: f, op: match.invert ? "!=" : "==", set: sets[f] });
    }
  }
  return FAMILIES.filter((f) => activated.has(f)).map((f) => ({
    exprs: [...pre, { type: "nfproto", family: f }, ...activated.get(f)!, ...post],
    origin: rule.origin,
  }));
}
