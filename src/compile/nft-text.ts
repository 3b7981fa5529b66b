// Ruleset → nft text in listing form (what `nft list table` prints), loadable with `nft -f`.
import type { Expr, KernelChain, KernelRule, NamedSet, RegularChain, Ruleset, VerdictMap } from "./ruleset.js";
import { ICMP_TYPE_NAMES, PROTOCOL_NFT_NAMES, addrElement, addrElementText, addrElements, portElementText, priorityText } from "./elements.js";

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
  const portTest = has("dport") || exprs.some((e) => e.type === "vmap" && e.key.field === "dport");
  const l4Folded = (protoName === "tcp" || protoName === "udp") && portTest ? true : protoName === "icmp" && has("icmpType");
  // An address test (set, named set or map lookup) implies its family: nft lists no `meta nfproto` then.
  const hasAddr = has("addr") || has("setLookup") || exprs.some((e) => e.type === "vmap" && e.key.field === "saddr");
  const addrKeyword = (family: 4 | 6, field: string) => `${family === 4 ? "ip" : "ip6"} ${field}`;
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
        parts.push(
          `${addrKeyword(e.family, e.field)} ${e.op === "!=" ? "!= " : ""}${e.bare ? addrElementText(addrElement(e.family, e.set[0]!)) : braces(addrElements(e.family, e.set).map(addrElementText))}`,
        );
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
      case "limitRef":
        parts.push(`limit name ${JSON.stringify(e.name)}`);
        break;
      case "log":
        parts.push(`log prefix ${JSON.stringify(e.prefix)} group ${e.group}`);
        break;
      case "verdict":
        parts.push(e.verdict);
        break;
      case "setLookup":
        parts.push(`${addrKeyword(e.family, e.field)} @${e.set}`);
        break;
      case "vmap":
        parts.push(`${e.key.field === "dport" ? dportKeyword : addrKeyword(e.key.family, "saddr")} vmap @${e.map}`);
        break;
      case "jump":
        parts.push(`jump ${e.chain}`);
        break;
      case "return":
        parts.push("return");
        break;
    }
  }
  return parts.join(" ");
}

function elementsLine(items: readonly string[], indent: string): string[] {
  return items.length ? [`${indent}elements = ${braces(items)}`] : [];
}

function setText(set: NamedSet, indent: string): string[] {
  const family = set.type === "ipv4_addr" ? 4 : 6;
  return [
    `${indent}set ${set.name} {`,
    `${indent}${indent}type ${set.type}`,
    `${indent}${indent}flags interval`,
    ...elementsLine(addrElements(family, set.elements).map(addrElementText), indent + indent),
    `${indent}}`,
  ];
}

function mapText(map: VerdictMap, indent: string): string[] {
  const key = (lo: bigint, hi: bigint) =>
    map.type === "inet_service" ? portElementText({ lo, hi }) : addrElementText(addrElement(map.type === "ipv4_addr" ? 4 : 6, { lo, hi }));
  return [
    `${indent}map ${map.name} {`,
    `${indent}${indent}type ${map.type} : verdict`,
    `${indent}${indent}flags interval`,
    ...elementsLine(
      map.elements.map((e) => `${key(e.lo, e.hi)} : jump ${e.jump}`),
      indent + indent,
    ),
    `${indent}}`,
  ];
}

function regularChainText(chain: RegularChain, indent: string): string[] {
  return [`${indent}chain ${chain.name} {`, ...chain.rules.map((r) => `${indent}${indent}${ruleText(r)}`), `${indent}}`];
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
  // Named limits first, as nft lists them.
  for (const l of rs.limits ?? []) {
    lines.push(`${indent}limit ${l.name} {`, `${indent}${indent}rate ${l.rate}/${l.per} burst ${l.burst} packets`, `${indent}}`, "");
  }
  // Then sets and maps, then chains (base chains first), in the order the transaction creates them.
  const blocks = [
    ...(rs.sets ?? []).map((s) => setText(s, indent)),
    ...(rs.maps ?? []).map((m) => mapText(m, indent)),
    ...rs.chains.map((c) => chainText(c, indent)),
    ...(rs.regularChains ?? []).map((c) => regularChainText(c, indent)),
  ];
  blocks.forEach((b, i) => {
    if (i > 0) lines.push("");
    lines.push(...b);
  });
  lines.push("}");
  return lines.join("\n") + "\n";
}
