// The lab's fixed plan: namespaces, addresses and the services every node listens on. Pure data, so
// the matrix, the expectations and the kernel set-up all read the same facts.

/** Every namespace the demo creates starts with this; `demo --clean` removes what carries it. */
export const LAB_PREFIX = "ifw-demo-";

export type Role = "controlplane" | "worker" | "external";
export type IpFamily = 4 | 6;

export interface LabHost {
  /** Short name used in the matrix and in the namespace name. */
  readonly name: string;
  readonly role: Role;
  readonly netns: string;
  readonly ipv4: string;
  readonly ipv6: string;
  /** Fixed MAC of the host's eth0, so IPv6 neighbours can be static (see lab.ts). */
  readonly mac: string;
}

export interface Service {
  readonly name: string;
  readonly proto: "tcp" | "udp" | "icmp";
  /** 0 for ICMP echo. */
  readonly port: number;
}

export const CLUSTER_SUBNET = "172.20.0.0/24";
/** The external client's subnet: on the same bridge, outside $CLUSTER_SUBNET, reached by on-link routes. */
export const EXTERNAL_SUBNET = "172.21.0.0/24";
/** One ULA /64 for everybody: the seed's cluster rules are IPv4-only, so every IPv6 source is outside the cluster. */
export const IPV6_SUBNET = "fd69:6677::/64";
export const VXLAN_PORT = 4789;
export const SWITCH_NETNS = `${LAB_PREFIX}switch`;
export const BRIDGE = "br0";

function host(name: string, role: Role, ipv4: string, suffix: number): LabHost {
  return {
    name,
    role,
    netns: `${LAB_PREFIX}${name}`,
    ipv4,
    ipv6: `fd69:6677::${suffix.toString(16)}`,
    mac: `02:69:66:77:00:${suffix.toString(16).padStart(2, "0")}`,
  };
}

export const HOSTS: readonly LabHost[] = [
  host("cp1", "controlplane", "172.20.0.2", 2),
  host("cp2", "controlplane", "172.20.0.3", 3),
  host("cp3", "controlplane", "172.20.0.4", 4),
  host("worker", "worker", "172.20.0.5", 5),
  host("external", "external", "172.21.0.10", 0x10),
];

/** The nodes: they run a firewall and listeners. The external client only probes. */
export const NODES: readonly LabHost[] = HOSTS.filter((h) => h.role !== "external");

/** Every namespace of the lab; the switch last, so deleting in this order never strands a veth end. */
export const LAB_NAMESPACES: readonly string[] = [...HOSTS.map((h) => h.netns), SWITCH_NETNS];

/** The Talos ports the seed's examples talk about, in matrix column order. */
export const SERVICES: readonly Service[] = [
  { name: "apid", proto: "tcp", port: 50000 },
  { name: "trustd", proto: "tcp", port: 50001 },
  { name: "kube-api", proto: "tcp", port: 6443 },
  { name: "kubelet", proto: "tcp", port: 10250 },
  { name: "etcd", proto: "tcp", port: 2379 },
  { name: "etcd-peer", proto: "tcp", port: 2380 },
  { name: "vxlan", proto: "udp", port: VXLAN_PORT },
  { name: "ping", proto: "icmp", port: 0 },
];

export function addressOf(h: LabHost, family: IpFamily): string {
  return family === 4 ? h.ipv4 : h.ipv6;
}

/** The prefix length of a host's address on eth0. */
export function prefixLength(family: IpFamily): number {
  return family === 4 ? 24 : 64;
}

/** The template variables of the seed's examples, for this lab. */
export function templateVariables(): Record<string, string> {
  const cps = HOSTS.filter((h) => h.role === "controlplane");
  return { CLUSTER_SUBNET, CP1: cps[0]!.ipv4, CP2: cps[1]!.ipv4, CP3: cps[2]!.ipv4, VXLAN_PORT: String(VXLAN_PORT) };
}

export interface Probe {
  readonly source: LabHost;
  readonly family: IpFamily;
  readonly dest: LabHost;
  readonly service: Service;
}

/** Every (source, family, destination, service) combination, in matrix order (destination blocks, source rows). */
export function allProbes(): Probe[] {
  const out: Probe[] = [];
  for (const dest of NODES)
    for (const source of HOSTS) for (const family of [4, 6] as const) for (const service of SERVICES) out.push({ source, family, dest, service });
  return out;
}

export function probeKey(p: Probe): string {
  return `${p.source.name}/${p.family}>${p.dest.name}:${p.service.name}`;
}
