// Lints on a rule's ingress subnets and excepts (W004, W005, W006, W008, W009, W011, W012).
import { FAMILY_MAX, formatAddress, hasHostBits, isIPv4Mapped, prefixRange, type Prefix } from "../../net/address.js";
import { coversAll } from "../../net/interval.js";
import { familySet } from "../../net/source-set.js";
import type { SourcePos } from "../diagnostics.js";
import type { DefaultAction, RuleConfig } from "../model.js";
import type { Finding } from "./finding.js";

function prefixesOverlap(a: Prefix, b: Prefix): boolean {
  if (a.family !== b.family) return false;
  const [x, y] = [prefixRange(a), prefixRange(b)];
  return x.lo <= y.hi && y.lo <= x.hi;
}

/** W009 and W012 for one written prefix. */
function prefixLints(p: Prefix, pos: SourcePos): Finding[] {
  const out: Finding[] = [];
  if (hasHostBits(p)) {
    const masked = `${formatAddress(p.family, prefixRange(p).lo)}/${p.bits}`;
    out.push({ code: "W009", pos, message: `${p.text} has host bits set; it is used as ${masked}` });
  }
  if (isIPv4Mapped(p)) out.push({ code: "W012", pos, message: `${p.text} is IPv6; it never matches IPv4 packets` });
  return out;
}

/** W004: accept mode drops every packet of a family the rule has no subnet for (§5.6). */
function missingFamily(rule: RuleConfig): Finding[] {
  const has = (family: 4 | 6) => rule.ingress.some((e) => e.subnet?.family === family);
  const message = (missing: string, example: string) =>
    `no ${missing} subnet: in accept mode this rule drops all ${missing} traffic to these ports; add ${example} or a narrower ${missing} subnet to allow it`;
  if (has(4) && !has(6)) return [{ code: "W004", pos: rule.ingressPos, message: message("IPv6", "::/0") }];
  if (has(6) && !has(4)) return [{ code: "W004", pos: rule.ingressPos, message: message("IPv4", "0.0.0.0/0") }];
  return [];
}

/** W005, W006: excepts are rule-wide (§5.5). Entries are numbered from 1 in messages. */
function exceptReach(rule: RuleConfig): Finding[] {
  const out: Finding[] = [];
  rule.ingress.forEach((entry, i) => {
    const except = entry.except;
    if (!except || !entry.exceptPos) return;
    const hits = rule.ingress.flatMap((e, j) => (e.subnet && prefixesOverlap(e.subnet, except) ? [{ subnet: e.subnet, j }] : []));
    if (hits.length === 0) {
      out.push({ code: "W005", pos: entry.exceptPos, message: `except ${except.text} lies outside every subnet of this rule and removes nothing` });
    }
    for (const { subnet, j } of hits.filter((h) => h.j !== i)) {
      const message = `except ${except.text} also removes addresses from subnet ${subnet.text} of entry ${j + 1}: excepts apply to the whole rule`;
      out.push({ code: "W006", pos: entry.exceptPos, message });
    }
  });
  return out;
}

/** W008 and W011: the rule compiles to nothing, or only to "closed to everyone" (truth table §5.6). */
function noEffect(rule: RuleConfig, mode: DefaultAction): Finding[] {
  if (rule.ingress.length === 0) {
    const effect = mode === "accept" ? "these ports are closed to every source" : "this rule compiles to nothing and the ports stay closed";
    return [{ code: "W008", pos: rule.ingressPos, message: `no ingress subnets: ${effect}` }];
  }
  const subnets = rule.ingress.flatMap((e) => (e.subnet ? [e.subnet] : []));
  const excepts = rule.ingress.flatMap((e) => (e.except ? [e.except] : []));
  const [s4, s6] = [familySet(subnets, excepts, 4), familySet(subnets, excepts, 6)];
  // Accept mode: nothing is outside the set. Block mode: nothing is inside it (e.g. every subnet fully excepted).
  const zeroRules = mode === "accept" ? coversAll(s4, FAMILY_MAX[4]) && coversAll(s6, FAMILY_MAX[6]) : s4.length === 0 && s6.length === 0;
  return zeroRules ? [{ code: "W011", pos: rule.ingressPos, message: `this rule has no effect in ${mode} mode` }] : [];
}

export function sourceLints(rule: RuleConfig, mode: DefaultAction): Finding[] {
  const written = rule.ingress.flatMap((e) => [
    ...(e.subnet ? prefixLints(e.subnet, e.subnetPos) : []),
    ...(e.except && e.exceptPos ? prefixLints(e.except, e.exceptPos) : []),
  ]);
  return [...(mode === "accept" ? missingFamily(rule) : []), ...exceptReach(rule), ...noEffect(rule, mode), ...written];
}
