// One IR rule → 0, 1 or 2 kernel rules: the IPv4/IPv6 truth table of §5.6, quirk included, and the
// pre/family/post assembly of §5.7.
import { FAMILY_MAX, type Family } from "../net/address.js";
import { coversAll, normalize, type IntervalSet } from "../net/interval.js";
import { familySet } from "../net/source-set.js";
import type { IrRule } from "./ir.js";
import type { Expr, KernelRule } from "./ruleset.js";

const FAMILIES: readonly Family[] = [4, 6];

type Coverage = "none" | "some" | "all";

function coverage(set: IntervalSet, f: Family): Coverage {
  return set.length === 0 ? "none" : coversAll(set, FAMILY_MAX[f]) ? "all" : "some";
}

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

  if (!rule.src && !rule.dst) return [{ exprs: [...pre, ...post], origin: rule.origin }];

  // Per family: absent until a match activates it, then its address tests.
  const tests: Partial<Record<Family, Expr[]>> = {};
  for (const [field, match] of [
    ["saddr", rule.src],
    ["daddr", rule.dst],
  ] as const) {
    if (!match) continue;
    const sets = { 4: familySet(match.include, match.exclude, 4), 6: familySet(match.include, match.exclude, 6) };
    const cover = { 4: coverage(sets[4], 4), 6: coverage(sets[6], 6) };
    // What does not activate a family: nothing to match, or (inverted) nothing to exclude.
    const inactive: Coverage = match.invert ? "all" : "none";
    if (cover[4] === inactive && cover[6] === inactive) return [];
    for (const f of FAMILIES) {
      if (cover[f] === inactive) continue;
      const familyTests = (tests[f] ??= []);
      if (cover[f] === "some") familyTests.push({ type: "addr", field, family: f, op: match.invert ? "!=" : "==", set: sets[f] });
    }
  }
  const out: KernelRule[] = [];
  for (const f of FAMILIES) {
    const familyTests = tests[f];
    if (familyTests) out.push({ exprs: [...pre, { type: "nfproto", family: f }, ...familyTests, ...post], origin: rule.origin });
  }
  return out;
}
