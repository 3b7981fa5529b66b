// Flow impact preview: each flow of a conntrack table, replayed as a NEW connection against a
// candidate ruleset, grouped by destination port and source when it would be dropped.
import { parsePrefix, prefixRange, type Address, type Family } from "../net/address.js";
import { contains, normalize, type Interval, type IntervalSet } from "../net/interval.js";
import type { Ruleset } from "../compile/ruleset.js";
import type { Flow } from "./conntrack.js";
import { evaluate, type Decider, type Evaluation } from "./evaluate.js";
import type { Packet } from "./packet.js";

/** Addresses the kernel delivers locally, per family. */
export interface LocalAddresses {
  readonly 4: IntervalSet;
  readonly 6: IntervalSet;
}

const LOOPBACK: LocalAddresses = { 4: [prefixRange(parsePrefix("127.0.0.0/8"))], 6: [prefixRange(parsePrefix("::1/128"))] };

/** The local routes `ip -j route show table all type local` lists (`127.0.0.0/8`, `10.0.0.1`, `fd00::1`). */
export function localFromRoutes(json: string): LocalAddresses {
  const routes = JSON.parse(json) as unknown;
  if (!Array.isArray(routes)) throw new Error("ip route: expected a JSON list");
  const ranges: Record<Family, Interval[]> = { 4: [], 6: [] };
  for (const r of routes as { type?: unknown; dst?: unknown }[]) {
    if (r.type !== "local" || typeof r.dst !== "string") continue;
    const text = r.dst.includes("/") ? r.dst : `${r.dst}/${r.dst.includes(":") ? 128 : 32}`;
    const p = parsePrefix(text);
    ranges[p.family].push(prefixRange(p));
  }
  return { 4: normalize(ranges[4]), 6: normalize(ranges[6]) };
}

/** Given addresses (e.g. --node-address) plus loopback. */
export function localFromAddresses(addrs: readonly Address[]): LocalAddresses {
  const of = (f: Family) => normalize([...LOOPBACK[f], ...addrs.filter((a) => a.family === f).map((a) => ({ lo: a.value, hi: a.value }))]);
  return { 4: of(4), 6: of(6) };
}

export interface FlowContext {
  /** null when unknown: every flow is then taken to be addressed to this host. */
  readonly local: LocalAddresses | null;
  /** Input interface for traffic that does not come from this host. */
  readonly iface: string;
}

/**
 * The first packet of the flow as the firewall would see it, or null when the flow does not concern
 * this host's ingress (neither its original nor its translated destination is local). A flow DNAT'd to
 * an address that is not local is forwarded and meets only prerouting. Traffic from a local or loopback
 * address arrives on `lo`.
 */
export function flowPacket(flow: Flow, ctx: FlowContext): Packet | null {
  const f = flow.family;
  const finalDst = flow.natDst ?? flow.dst;
  let forwarded = false;
  if (ctx.local) {
    const finalLocal = contains(ctx.local[f], finalDst);
    if (!contains(ctx.local[f], flow.dst) && !finalLocal) return null;
    forwarded = !finalLocal;
  }
  const fromHost = contains(LOOPBACK[f], flow.src) || (ctx.local !== null && contains(ctx.local[f], flow.src));
  const dport = flow.natDport ?? flow.dport;
  return {
    iif: fromHost ? "lo" : ctx.iface,
    family: f,
    src: flow.src,
    dst: finalDst,
    protocol: flow.protocol,
    ...(dport !== undefined ? { dport } : {}),
    ...(flow.icmpType !== undefined ? { icmpType: flow.icmpType } : {}),
    ctState: "new",
    ...(flow.natDst !== undefined ? { origDst: flow.dst } : {}),
    ...(flow.natDport !== undefined ? { origDport: flow.dport } : {}),
    ...(forwarded ? { forwarded } : {}),
  };
}

export interface SourceGroup {
  readonly family: Family;
  readonly src: bigint;
  readonly flows: number;
  /** Original destinations, ascending. */
  readonly destinations: readonly bigint[];
  /** What decided (for drops); empty for undetermined flows. */
  readonly deciders: readonly Decider[];
}

export interface PortGroup {
  readonly protocol: number;
  /** Original destination port; null for protocols without ports. */
  readonly port: number | null;
  readonly icmpType: number | null;
  readonly flows: number;
  readonly sources: readonly SourceGroup[];
}

export interface FlowReport {
  readonly flows: number;
  /** Not addressed to this host (only when local addresses are known). */
  readonly skipped: number;
  readonly accepted: number;
  /** Of the accepted: only while under a rate limit. */
  readonly rateLimited: number;
  readonly dropped: number;
  /** The verdict depends on a value the flow table does not record (the ICMP checksum). */
  readonly undetermined: number;
  readonly drops: readonly PortGroup[];
  readonly undeterminedGroups: readonly PortGroup[];
}

interface Grouping {
  readonly groups: Map<
    string,
    {
      protocol: number;
      port: number | null;
      icmpType: number | null;
      sources: Map<string, { family: Family; src: bigint; flows: number; dsts: Set<bigint>; deciders: Set<Decider> }>;
    }
  >;
}

function addTo(g: Grouping, flow: Flow, decider: Decider | null): void {
  const port = flow.dport ?? null;
  const icmpType = port === null ? (flow.icmpType ?? null) : null;
  const key = `${flow.protocol}/${port ?? ""}/${icmpType ?? ""}`;
  let group = g.groups.get(key);
  if (!group) g.groups.set(key, (group = { protocol: flow.protocol, port, icmpType, sources: new Map() }));
  const skey = `${flow.family}/${flow.src}`;
  let s = group.sources.get(skey);
  if (!s) group.sources.set(skey, (s = { family: flow.family, src: flow.src, flows: 0, dsts: new Set(), deciders: new Set() }));
  s.flows++;
  s.dsts.add(flow.dst);
  if (decider) s.deciders.add(decider);
}

const cmp = (a: bigint | number, b: bigint | number) => (a < b ? -1 : a > b ? 1 : 0);

function finish(g: Grouping): PortGroup[] {
  return [...g.groups.values()]
    .map((group) => {
      const sources = [...group.sources.values()]
        .map((s) => ({ family: s.family, src: s.src, flows: s.flows, destinations: [...s.dsts].sort(cmp), deciders: [...s.deciders] }))
        .sort((a, b) => a.family - b.family || cmp(a.src, b.src));
      return { protocol: group.protocol, port: group.port, icmpType: group.icmpType, flows: sources.reduce((n, s) => n + s.flows, 0), sources };
    })
    .sort((a, b) => a.protocol - b.protocol || cmp(a.port ?? -1, b.port ?? -1) || cmp(a.icmpType ?? -1, b.icmpType ?? -1));
}

function isRateLimited(e: Evaluation): boolean {
  return e.verdict === "accept" && e.chains.some((d) => d.kind === "rule" && d.rateLimit !== null);
}

/** Evaluate every flow as a new connection and group the drops by destination port and source. */
export function previewFlows(rs: Ruleset, flows: readonly Flow[], ctx: FlowContext): FlowReport {
  const drops: Grouping = { groups: new Map() };
  const undetermined: Grouping = { groups: new Map() };
  let skipped = 0;
  let accepted = 0;
  let rateLimited = 0;
  let dropped = 0;
  let unknown = 0;
  for (const flow of flows) {
    const packet = flowPacket(flow, ctx);
    if (!packet) {
      skipped++;
      continue;
    }
    const e = evaluate(rs, packet);
    if (e.verdict === "accept") {
      accepted++;
      if (isRateLimited(e)) rateLimited++;
    } else if (e.verdict === "drop") {
      dropped++;
      addTo(drops, flow, e.by);
    } else {
      unknown++;
      addTo(undetermined, flow, null);
    }
  }
  return {
    flows: flows.length,
    skipped,
    accepted,
    rateLimited,
    dropped,
    undetermined: unknown,
    drops: finish(drops),
    undeterminedGroups: finish(undetermined),
  };
}
