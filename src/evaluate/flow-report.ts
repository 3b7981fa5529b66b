// The flow impact preview in words and as JSON.
import { formatAddress } from "../net/address.js";
import type { FlowParseError } from "./conntrack.js";
import { deciderText, protocolLabel, type Json } from "./describe.js";
import type { Decider } from "./evaluate.js";
import type { FlowReport, PortGroup } from "./flows.js";

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

function groupLabel(g: PortGroup): string {
  const proto = protocolLabel(g.protocol);
  if (g.port !== null) return `${proto}/${g.port}`;
  return g.icmpType !== null ? `${proto} type ${g.icmpType}` : proto;
}

function groupLines(groups: readonly PortGroup[]): string[] {
  const lines: string[] = [];
  for (const g of groups) {
    lines.push(`  ${groupLabel(g)}: ${plural(g.flows, "flow")}`);
    for (const s of g.sources) {
      const dsts = s.destinations.map((d) => formatAddress(s.family, d)).join(", ");
      const why = [...new Set(s.deciders.map(deciderText))].join("; ");
      lines.push(`    from ${formatAddress(s.family, s.src)}: ${plural(s.flows, "flow")} to ${dsts}${why ? ` — ${why}` : ""}`);
    }
  }
  return lines;
}

export function summaryText(r: FlowReport, errors: readonly FlowParseError[]): string {
  const counts = [
    `${r.accepted} accepted${r.rateLimited ? ` (${r.rateLimited} only under a rate limit)` : ""}`,
    `${r.dropped} dropped`,
    ...(r.undetermined ? [`${r.undetermined} undetermined`] : []),
    ...(r.skipped ? [`${r.skipped} not addressed to this host`] : []),
  ];
  const unread = errors.length ? `; ${plural(errors.length, "line")} not understood` : "";
  return `Summary: ${plural(r.flows, "flow")}: ${counts.join(", ")}${unread}.`;
}

/** The report `check --flows` prints. */
export function flowReportText(r: FlowReport, errors: readonly FlowParseError[]): string[] {
  const lines: string[] = [];
  if (r.drops.length) {
    lines.push("Would be dropped (each flow replayed as a new connection):", ...groupLines(r.drops));
  } else {
    lines.push("No flow would be dropped.");
  }
  if (r.undeterminedGroups.length) {
    lines.push("Verdict depends on the ICMP checksum, which conntrack does not record (an ICMP rule's ports compare it):", ...groupLines(r.undeterminedGroups));
  }
  lines.push(summaryText(r, errors));
  return lines;
}

function deciderJsonLite(d: Decider): Json {
  switch (d.kind) {
    case "rule":
      return {
        kind: "rule",
        chain: d.chain,
        index: d.index,
        origin:
          d.origin.kind === "rule"
            ? { kind: "rule", name: d.origin.name, file: d.origin.pos.file, line: d.origin.pos.line, col: d.origin.pos.col }
            : { kind: "builtin", id: d.origin.id },
      };
    case "policy":
      return { kind: "policy", chain: d.chain };
    case "unfiltered":
      return { kind: "unfiltered" };
  }
}

function groupsJson(groups: readonly PortGroup[]): Json {
  return groups.map((g) => ({
    protocol: protocolLabel(g.protocol),
    port: g.port,
    icmpType: g.icmpType,
    flows: g.flows,
    sources: g.sources.map((s) => ({
      src: formatAddress(s.family, s.src),
      flows: s.flows,
      destinations: s.destinations.map((d) => formatAddress(s.family, d)),
      decidedBy: s.deciders.map(deciderJsonLite),
    })),
  }));
}

export function flowReportJson(r: FlowReport, errors: readonly FlowParseError[]): Json {
  return {
    summary: {
      flows: r.flows,
      accepted: r.accepted,
      rateLimited: r.rateLimited,
      dropped: r.dropped,
      undetermined: r.undetermined,
      notForThisHost: r.skipped,
      unreadLines: errors.length,
    },
    drops: groupsJson(r.drops),
    undetermined: groupsJson(r.undeterminedGroups),
    errors: errors.map((e) => ({ line: e.line, message: e.message })),
  };
}
