// The bench's workloads: for N rules, an address family and a traffic pattern, the Talos documents
// (block mode, N NetworkRuleConfig documents each allowing two non-adjacent subnets on two port
// items), the one packet the timed runs send, and a few probes, each with the verdict the intended
// policy gives it — computed here from the rule data, independently of the compiler.
import { formatAddress, parseAddress, parsePrefix, prefixRange, type Family } from "../src/net/address.js";

export const PATTERNS = ["miss", "inport", "hit", "hotport"] as const;
export type Pattern = (typeof PATTERNS)[number];

export const FAMILIES: readonly Family[] = [4, 6];

/** Addresses inside the bench's namespaces only (benchmarking ranges, RFC 2544 / RFC 5180). */
export const SERVER_ADDRESS: Record<Family, string> = { 4: "198.18.0.1", 6: "2001:2::1" };
export const SERVER_PREFIX_LENGTH: Record<Family, number> = { 4: 24, 6: 64 };
/** Source of every bench packet: the client. */
export const CLIENT_ADDRESS: Record<Family, string> = { 4: "198.18.0.2", 6: "2001:2::2" };
/** The subnet a rule names when the pattern wants it to allow the client. */
export const CLIENT_SUBNET: Record<Family, string> = { 4: "198.18.0.0/24", 6: "2001:2::/64" };

/** Rule i allows port FIRST_PORT + i and the range RANGE_PORT + 2i .. RANGE_PORT + 2i + 1. */
const FIRST_PORT = 10000;
const RANGE_PORT = 40000;
/** A port in no rule (discard). */
export const MISS_PORT = 9;
/** Keeps every rule's ports disjoint from the others' and inside 1..65535. */
export const MAX_RULES = 12000;

export interface BenchRule {
  readonly name: string;
  readonly subnets: readonly [string, string];
  /** The two port items: one port and one two-port range. */
  readonly port: number;
  readonly range: readonly [number, number];
}

/**
 * Two subnets per rule: /25 halves of distinct /24s (IPv4) or /49 halves of distinct /48s (IPv6), so no
 * two are adjacent and nothing can merge them into one range; none contains the client.
 */
export function ruleSubnets(family: Family, i: number): [string, string] {
  if (family === 4) {
    const hi = i >> 8;
    const lo = i & 255;
    return [`10.${hi}.${lo}.0/25`, `100.${64 + hi}.${lo}.0/25`];
  }
  const group = i.toString(16);
  return [`fd0a:0:${group}::/49`, `fd0b:0:${group}::/49`];
}

/**
 * The rules of one workload (performance.md's patterns):
 * miss — source and port in no rule; inport — every rule allows the client, port in none;
 * hit — only the last rule allows the client, packet to its first port; hotport — every rule has the
 * same ports, the packet goes to one of them from a source in no rule.
 */
export function benchRules(n: number, family: Family, pattern: Pattern): BenchRule[] {
  if (!Number.isInteger(n) || n < 0 || n > MAX_RULES) throw new RangeError(`N must be an integer in 0..${MAX_RULES}: ${n}`);
  return Array.from({ length: n }, (_, i) => {
    const [u, v] = ruleSubnets(family, i);
    const allowsClient = pattern === "inport" || (pattern === "hit" && i === n - 1);
    const k = pattern === "hotport" ? 0 : i;
    return {
      name: `bench-${i}`,
      subnets: [u, allowsClient ? CLIENT_SUBNET[family] : v],
      port: FIRST_PORT + k,
      range: [RANGE_PORT + 2 * k, RANGE_PORT + 2 * k + 1],
    };
  });
}

export interface Probe {
  readonly src: string;
  readonly dport: number;
}

export type Intended = "accept" | "drop";

/** The packet every timed run of a workload sends (from the client unless noted). */
export function benchPacket(n: number, family: Family, pattern: Pattern): Probe {
  const src = CLIENT_ADDRESS[family];
  switch (pattern) {
    case "miss":
    case "inport":
      return { src, dport: MISS_PORT };
    case "hit":
      return { src, dport: FIRST_PORT + Math.max(n - 1, 0) };
    case "hotport":
      return { src, dport: FIRST_PORT };
  }
}

function rulePortsContain(r: BenchRule, port: number): boolean {
  return r.port === port || (r.range[0] <= port && port <= r.range[1]);
}

function subnetContains(subnet: string, address: string): boolean {
  const a = parseAddress(address);
  const p = parsePrefix(subnet);
  if (!a || a.family !== p.family) return false;
  const { lo, hi } = prefixRange(p);
  return lo <= a.value && a.value <= hi;
}

/** The intended policy (block mode): accept TCP exactly when some rule allows both the source and the port. */
export function intendedVerdict(rules: readonly BenchRule[], probe: Probe): Intended {
  const allowed = rules.some((r) => rulePortsContain(r, probe.dport) && r.subnets.some((s) => subnetContains(s, probe.src)));
  return allowed ? "accept" : "drop";
}

/** The subnet's second address (the first is its network address), as text. */
function hostIn(subnet: string): string {
  const p = parsePrefix(subnet);
  return formatAddress(p.family, prefixRange(p).lo + 1n);
}

/**
 * Packets checked against the evaluator and the kernel before a workload is timed: the bench packet,
 * then a source of the first rule on its own ports (accepted) and on the last rule's range (accepted
 * only if the ports are shared), and the last rule's second subnet on a port in no rule (dropped).
 */
export function probes(n: number, family: Family, pattern: Pattern): Probe[] {
  const list = [benchPacket(n, family, pattern)];
  if (n === 0) return list;
  const rules = benchRules(n, family, pattern);
  const first = rules[0]!;
  const last = rules[n - 1]!;
  const src = hostIn(first.subnets[0]);
  list.push({ src, dport: first.port }, { src, dport: first.range[1] }, { src, dport: last.range[0] }, { src: hostIn(last.subnets[1]), dport: MISS_PORT });
  return list;
}

/** How the load measurements vary the workload's documents. */
export interface DocumentVariant {
  /** Document `edited` admits the other half of its second subnet: the one-rule change of the update measurement. */
  readonly edited?: number;
  /** Every document admits one of this many shared classes of SHARED_CLASS_SUBNETS subnets (named sets in port-map). */
  readonly sharedClasses?: number;
}

export const SHARED_CLASS_SUBNETS = 8;

/** Subnet j of shared class k: distinct /25s (IPv4) or /49s (IPv6), none adjacent, outside every other rule's. */
function sharedSubnet(family: Family, k: number, j: number): string {
  return family === 4 ? `172.${16 + (k % 16)}.${(k >> 4) * 16 + j * 2}.0/25` : `fd0c:${k.toString(16)}:${(j * 2).toString(16)}::/49`;
}

function variantSubnets(r: BenchRule, i: number, family: Family, v: DocumentVariant): readonly string[] {
  if (v.sharedClasses !== undefined) return Array.from({ length: SHARED_CLASS_SUBNETS }, (_, j) => sharedSubnet(family, i % v.sharedClasses!, j));
  if (v.edited !== i) return r.subnets;
  // The other half of the same /24 (/48): the document's chain changes, nothing else does.
  const p = parsePrefix(r.subnets[1]);
  const half = prefixRange(p).hi + 1n;
  return [r.subnets[0], `${formatAddress(p.family, half)}/${p.bits}`];
}

/** The workload as Talos machine-config documents (YAML stream). */
export function benchDocuments(n: number, family: Family, pattern: Pattern, variant: DocumentVariant = {}): string {
  const docs = ["apiVersion: v1alpha1\nkind: NetworkDefaultActionConfig\ningress: block\n"];
  for (const [i, r] of benchRules(n, family, pattern).entries()) {
    docs.push(
      [
        "apiVersion: v1alpha1",
        "kind: NetworkRuleConfig",
        `name: ${r.name}`,
        "portSelector:",
        "  ports:",
        `    - ${r.port}`,
        `    - ${r.range[0]}-${r.range[1]}`,
        "  protocol: tcp",
        "ingress:",
        ...variantSubnets(r, i, family, variant).map((s) => `  - subnet: ${s}`),
        "",
      ].join("\n"),
    );
  }
  return docs.join("---\n");
}
