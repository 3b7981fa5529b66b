// Ruleset → nft text in listing form (what `nft list table` prints), loadable with `nft -f`.
import type { Expr, KernelChain, KernelRule, Ruleset } from "./ruleset.js";
import { ICMP_TYPE_NAMES, PROTOCOL_NFT_NAMES, addrElementText, addrElements, portElementText, priorityText } from "./elements.js";

const braces = (items: readonly string[]) => `{ ${items.join(", ")} }`;

/** The statements of one rule, ordered and elided the way nft lists them. */
export function ruleText(rule: KernelRule): string {
  const exprs = rule.exprs;
  const has = (t: Expr["type"]) => exprs.some((e) => e.type === t);
  const l4 = exprs.find((e): e is Extract<Expr, { type: "l4proto" }> => e.type === "l4proto");
  const protoName = l4 ? PROTOCOL_NFT_NAMES[l4.protocol] : undefined;
  // nft folds `meta l4proto tcp` into `tcp dport` and `meta l4proto icmp` into `icmp type`;
  // for other protocols (0, and ICMP "ports") the explicit `meta l4proto` + `th dport` stays.
  const dportKeyword = protoName === "tcp" || protoName === "udp" ? `${protoName} dport` : "th dport";
  const l4Folded = (protoName === "tcp" || protoName === "udp") && has("dport") ? true : protoName === "icmp" && has("icmpType");
  const hasAddr = has("addr");
  const parts: string[] = [];
  for (const e of exprs) {
    switch (e.type) {
      case "iifname":
        parts.push(`iifname ${e.op === "!=" ? "!= " : ""}${e.names.length === 1 ? JSON.stringify(e.names[0]) : braces(e.names.map((n) => JSON.stringify(n)))}`);
        break;
      case "ctState":
        parts.push(`ct state ${e.states.length === 1 ? e.states[0] : braces(e.states)}`);
        break;
      case "l4proto":
        if (!l4Folded) parts.push(`meta l4proto ${protoName ?? e.protocol}`);
        break;
      case "nfproto":
        if (!hasAddr) parts.push(`meta nfproto ipv${e.family}`);
        break;
      case "addr":
        parts.push(`${e.family === 4 ? "ip" : "ip6"} ${e.field} ${e.op === "!=" ? "!= " : ""}${braces(addrElements(e.family, e.set).map(addrElementText))}`);
        break;
      case "dport":
        parts.push(`${dportKeyword} ${braces(e.set.map(portElementText))}`);
        break;
      case "icmpType":
        parts.push(`icmp type ${braces(e.types.map((t) => ICMP_TYPE_NAMES[t] ?? String(t)))}`);
        break;
      case "limit":
        parts.push(`limit rate ${e.rate}/second${e.burst === null ? "" : ` burst ${e.burst} packets`}`);
        break;
      case "counter":
        parts.push("counter");
        break;
      case "verdict":
        parts.push(e.verdict);
        break;
    }
  }
  return parts.join(" ");
}

function chainText(chain: KernelChain, indent: string): string[] {
  const b = chain.base;
  return [
    `${indent}chain ${chain.name} {`,
    `${indent}${indent}type filter hook ${b.hook} priority ${priorityText(b.priority)}; policy ${b.policy};`,
    ...chain.rules.map((r) => `${indent}${indent}${ruleText(r)}`),
    `${indent}}`,
  ];
}

/** The table in listing form. Loading it with `nft -f` into a namespace without the table recreates it. */
export function renderText(rs: Ruleset, indent = "  "): string {
  const lines = [`table ${rs.family} ${rs.table} {`];
  rs.chains.forEach((c, i) => {
    if (i > 0) lines.push("");
    lines.push(...chainText(c, indent));
  });
  lines.push("}");
  return lines.join("\n") + "\n";
}
