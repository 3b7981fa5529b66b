// The lock-out guard of `apply`: the connections an operator must not lose — the current SSH session
// and every `--keep-open` entry — are evaluated as NEW connections against the candidate ruleset, for
// every source address they cover; those the candidate would drop are reported with the rule or chain
// policy that drops them.
import type { Ruleset } from "../compile/ruleset.js";
import { formatAddress, parseAddress, parsePrefix, prefixRange, rangeAsPrefixLength, type Address, type Family } from "../net/address.js";
import { contains, type Interval } from "../net/interval.js";
import { deciderText, protocolLabel } from "./describe.js";
import { evaluate, type Decision } from "./evaluate.js";
import type { LocalAddresses } from "./flows.js";
import { PROTO_TCP, PROTO_UDP, type Packet } from "./packet.js";

/** A malformed `--keep-open` entry or `SSH_CONNECTION` value. */
export class LockoutInputError extends Error {}

export interface KeepOpen {
  /** The entry as written, for messages. */
  readonly text: string;
  readonly protocol: typeof PROTO_TCP | typeof PROTO_UDP;
  readonly family: Family;
  /** Every source address in this range must get in. */
  readonly sources: Interval;
  readonly port: number;
}

const KEEP_OPEN_PROTOCOLS: Record<string, KeepOpen["protocol"]> = { tcp: PROTO_TCP, udp: PROTO_UDP };
const ALL_SOURCES: Record<Family, string> = { 4: "0.0.0.0/0", 6: "::/0" };

function keepOpenPort(text: string, entry: string): number {
  if (!/^[0-9]{1,5}$/.test(text) || Number(text) > 65535)
    throw new LockoutInputError(`--keep-open ${JSON.stringify(entry)}: port ${JSON.stringify(text)} is not 0-65535`);
  return Number(text);
}

/** A CIDR, or a bare address meaning just that address (/32, /128), as Calico accepts it. */
function keepOpenSources(text: string, entry: string): { family: Family; sources: Interval } {
  if (!text.includes("/")) {
    const a = parseAddress(text);
    if (!a) throw new LockoutInputError(`--keep-open ${JSON.stringify(entry)}: ${JSON.stringify(text)} is not an IP address or CIDR`);
    return { family: a.family, sources: { lo: a.value, hi: a.value } };
  }
  try {
    const p = parsePrefix(text);
    return { family: p.family, sources: prefixRange(p) };
  } catch (e) {
    throw new LockoutInputError(`--keep-open ${JSON.stringify(entry)}: ${(e as Error).message}`);
  }
}

/**
 * One entry in Calico's failsafe syntax: `PROTO:CIDR:PORT`, `PROTO:PORT` or `PORT` (protocol tcp), with
 * the IPv6 CIDR in brackets as Calico writes it (`tcp:[fd00::/8]:22`); `tcp:[::]/0:22` and the unbracketed
 * `tcp:::/0:22` (the last colon starts the port) are accepted too. Without a CIDR the entry covers every
 * source of both families, hence a list.
 */
export function parseKeepOpen(entry: string): KeepOpen[] {
  const text = entry.trim();
  const bracketed = /^([A-Za-z]+):\[([^\]]*)\](\/[0-9]+)?:([^:]*)$/.exec(text);
  let proto: string;
  let cidr: string | null;
  let port: string;
  if (bracketed) {
    [proto, cidr, port] = [bracketed[1]!, `${bracketed[2]}${bracketed[3] ?? ""}`, bracketed[4]!];
  } else {
    const parts = text.split(":");
    if (parts.length === 1) [proto, cidr, port] = ["tcp", null, parts[0]!];
    else if (parts.length === 2) [proto, cidr, port] = [parts[0]!, null, parts[1]!];
    else [proto, cidr, port] = [parts[0]!, parts.slice(1, -1).join(":"), parts[parts.length - 1]!];
  }
  const protocol = KEEP_OPEN_PROTOCOLS[proto.toLowerCase()];
  if (protocol === undefined)
    throw new LockoutInputError(`--keep-open ${JSON.stringify(entry)}: protocol ${JSON.stringify(proto)} is not tcp or udp (form PROTO:CIDR:PORT)`);
  const portNumber = keepOpenPort(port, entry);
  const cidrs = cidr === null ? [ALL_SOURCES[4], ALL_SOURCES[6]] : [cidr];
  return cidrs.map((c) => ({ text, protocol, port: portNumber, ...keepOpenSources(c, entry) }));
}

/** A keep-open file: one entry per line; `#` starts a comment; blank lines are skipped. */
export function parseKeepOpenFile(text: string, file: string): KeepOpen[] {
  return text.split("\n").flatMap((raw, i) => {
    const line = raw.replace(/#.*/, "").trim();
    if (line === "") return [];
    try {
      return parseKeepOpen(line);
    } catch (e) {
      throw new LockoutInputError(`${file}:${i + 1}: ${(e as Error).message}`);
    }
  });
}

/** The INGRESSFW_KEEP_OPEN value: entries separated by commas. */
export function parseKeepOpenList(text: string, origin: string): KeepOpen[] {
  return text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .flatMap((s) => {
      try {
        return parseKeepOpen(s);
      } catch (e) {
        throw new LockoutInputError(`${origin}: ${(e as Error).message}`);
      }
    });
}

export interface SshSession {
  readonly client: Address;
  readonly clientPort: number;
  readonly server: Address;
  readonly serverPort: number;
  readonly text: string;
}

/** `$SSH_CONNECTION`: "client_ip client_port server_ip server_port" as sshd sets it. */
export function parseSshConnection(value: string): SshSession {
  const fail = (): never => {
    throw new LockoutInputError(`SSH_CONNECTION ${JSON.stringify(value)} is not "client_ip client_port server_ip server_port"`);
  };
  const fields = value.trim().split(/\s+/);
  if (fields.length !== 4) fail();
  // A link-local address may carry its zone (fe80::1%eth0); the zone does not reach the firewall.
  const addr = (s: string) => parseAddress(s.replace(/%.*$/, "")) ?? fail();
  const port = (s: string) => (/^[0-9]{1,5}$/.test(s) && Number(s) <= 65535 ? Number(s) : fail());
  const client = addr(fields[0]!);
  const server = addr(fields[2]!);
  if (client.family !== server.family) fail();
  return { client, clientPort: port(fields[1]!), server, serverPort: port(fields[3]!), text: value.trim() };
}

/** Something that must still get in: new connections from every address of `sources`. */
export interface Protected {
  /** What the user gave, e.g. `the current SSH session (SSH_CONNECTION "…")` or `--keep-open tcp:10.0.0.0/8:22`. */
  readonly label: string;
  readonly family: Family;
  readonly protocol: number;
  readonly sources: Interval;
  readonly port: number;
  /** Local addresses the connections go to; each is checked. */
  readonly destinations: readonly bigint[];
  readonly iif: string;
}

/** The input interface assumed for traffic that does not come from this host (any untrusted name does). */
export const EXTERNAL_IFACE = "eth0";
/** RFC 5737 / RFC 3849: the destination when no node address of the family is known (not a node address). */
const DOC_DESTINATION: Record<Family, bigint> = { 4: parseAddress("192.0.2.1")!.value, 6: parseAddress("2001:db8::1")!.value };
const LOOPBACK: Record<Family, Interval> = { 4: prefixRange(parsePrefix("127.0.0.0/8")), 6: prefixRange(parsePrefix("::1/128")) };

/**
 * The SSH session as a connection to protect, or null when its server address is not local to the
 * target (the session ends in another namespace, so this ruleset cannot cut it). A client on a local
 * or loopback address arrives on `lo`.
 */
export function sshProtected(s: SshSession, local: LocalAddresses): Protected | null {
  const f = s.client.family;
  if (!contains(local[f], s.server.value)) return null;
  const fromHost = contains(local[f], s.client.value) || (s.client.value >= LOOPBACK[f].lo && s.client.value <= LOOPBACK[f].hi);
  return {
    label: `the current SSH session (SSH_CONNECTION "${s.text}")`,
    family: f,
    protocol: PROTO_TCP,
    sources: { lo: s.client.value, hi: s.client.value },
    port: s.serverPort,
    destinations: [s.server.value],
    iif: fromHost ? "lo" : EXTERNAL_IFACE,
  };
}

/** A keep-open entry, to every node address of its family (those the ruleset was compiled with). */
export function keepOpenProtected(k: KeepOpen, nodeAddresses: readonly Address[] | null): Protected {
  const nodes = (nodeAddresses ?? []).filter((a) => a.family === k.family).map((a) => a.value);
  return {
    label: `--keep-open ${k.text}`,
    family: k.family,
    protocol: k.protocol,
    sources: k.sources,
    port: k.port,
    destinations: nodes.length > 0 ? nodes : [DOC_DESTINATION[k.family]],
    iif: EXTERNAL_IFACE,
  };
}

export interface Lockout {
  readonly subject: Protected;
  readonly dst: bigint;
  /** Maximal source ranges inside subject.sources whose new connections `decision` drops. */
  readonly sources: readonly Interval[];
  readonly decision: Decision;
}

/**
 * The source addresses at which the verdict can change inside [lo, hi]: the range's first address and
 * every start (and end + 1) of a source-address set of the family. Only `saddr` tests read the source,
 * so every address of a segment between two cuts gets the verdict of the segment's first address —
 * evaluating the cuts covers the whole range exactly.
 */
export function sourceCuts(rs: Ruleset, family: Family, lo: bigint, hi: bigint): bigint[] {
  const cuts = new Set<bigint>([lo]);
  const add = (v: bigint) => {
    if (v > lo && v <= hi) cuts.add(v);
  };
  const addAll = (ivs: readonly Interval[]) => {
    for (const iv of ivs) {
      add(iv.lo);
      add(iv.hi + 1n);
    }
  };
  for (const chain of [...rs.chains, ...(rs.regularChains ?? [])]) {
    for (const rule of chain.rules) {
      for (const e of rule.exprs) if (e.type === "addr" && e.field === "saddr" && e.family === family) addAll(e.set);
    }
  }
  // Named sets and source maps (port-map layout): only source addresses are looked up in them.
  const type = family === 4 ? "ipv4_addr" : "ipv6_addr";
  for (const s of rs.sets ?? []) if (s.type === type) addAll(s.elements);
  for (const m of rs.maps ?? []) if (m.type === type) addAll(m.elements);
  return [...cuts].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function newConnection(p: Protected, src: bigint, dst: bigint): Packet {
  return { iif: p.iif, family: p.family, src, dst, protocol: p.protocol, dport: p.port, ctState: "new" };
}

function decide(rs: Ruleset, pkt: Packet): Decision {
  const e = evaluate(rs, pkt);
  // A TCP/UDP packet with its port always has a determined verdict.
  if (e.verdict === "depends") throw new Error(`lock-out guard: undetermined verdict for a packet with a port (${e.on})`);
  return e;
}

/** Every protected connection the ruleset would drop, per destination and deciding rule. */
export function findLockouts(rs: Ruleset, subjects: readonly Protected[]): Lockout[] {
  const out: Lockout[] = [];
  for (const subject of subjects) {
    const { lo, hi } = subject.sources;
    const cuts = sourceCuts(rs, subject.family, lo, hi);
    for (const dst of subject.destinations) {
      const byDecider = new Map<string, { sources: Interval[]; decision: Decision }>();
      cuts.forEach((start, i) => {
        const decision = decide(rs, newConnection(subject, start, dst));
        if (decision.verdict !== "drop") return;
        const end = i + 1 < cuts.length ? cuts[i + 1]! - 1n : hi;
        const key = deciderText(decision.by);
        const group = byDecider.get(key);
        if (!group) {
          byDecider.set(key, { sources: [{ lo: start, hi: end }], decision });
          return;
        }
        const last = group.sources[group.sources.length - 1]!;
        if (last.hi + 1n === start) group.sources[group.sources.length - 1] = { lo: last.lo, hi: end };
        else group.sources.push({ lo: start, hi: end });
      });
      for (const { sources, decision } of byDecider.values()) out.push({ subject, dst, sources, decision });
    }
  }
  return out;
}

/** `10.0.0.0/8`, `10.0.0.5` or `10.0.0.5-10.0.0.9`. */
export function rangeText(family: Family, r: Interval): string {
  const fmt = (v: bigint) => formatAddress(family, v);
  if (r.lo === r.hi) return fmt(r.lo);
  const bits = rangeAsPrefixLength(family, r.lo, r.hi);
  return bits === null ? `${fmt(r.lo)}-${fmt(r.hi)}` : `${fmt(r.lo)}/${bits}`;
}

const RANGES_SHOWN = 3;

/** One line: what would be cut, and the rule or chain policy that cuts it. */
export function lockoutText(l: Lockout): string {
  const s = l.subject;
  const all = l.sources.length === 1 && l.sources[0]!.lo === s.sources.lo && l.sources[0]!.hi === s.sources.hi;
  let from = l.sources
    .slice(0, RANGES_SHOWN)
    .map((r) => rangeText(s.family, r))
    .join(", ");
  if (l.sources.length > RANGES_SHOWN) from += ` and ${l.sources.length - RANGES_SHOWN} more range(s)`;
  if (!all) from += ` (part of ${rangeText(s.family, s.sources)})`;
  const dst = formatAddress(s.family, l.dst);
  return `${s.label}: new ${protocolLabel(s.protocol)} connections from ${from} to ${dst} port ${s.port} would be dropped by ${l.decision.by.kind === "policy" ? "the " : ""}${deciderText(l.decision.by)}`;
}
