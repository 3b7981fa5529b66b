// Node addresses for the prerouting chain (semantics §5.10): the addresses of up links in the target
// namespace, minus loopback, link-local, multicast, SideroLink and host-DNS addresses, and — when a
// cluster network config exists — minus addresses inside the pod/service subnets.
import { z } from "zod";
import { parseAddress, parsePrefix, prefixRange, type Address, type Prefix } from "../net/address.js";
import type { ClusterInfo } from "../config/model.js";
import { HOST_DNS_V6, clusterNetworkExists } from "../compile/build-ir.js";
import type { Profile } from "../compile/profiles.js";
import { KernelError, runIn, type Target } from "./exec.js";

export const SIDEROLINK_SUBNET = "fdae:41e4:649b:9303::/64";

/** Never node addresses: loopback, link-local, multicast, SideroLink, the IPv6 host-DNS address. */
const ALWAYS_EXCLUDED: readonly Prefix[] = [
  "127.0.0.0/8",
  "169.254.0.0/16",
  "224.0.0.0/4",
  "::1/128",
  "fe80::/10",
  "ff00::/8",
  SIDEROLINK_SUBNET,
  HOST_DNS_V6,
].map(parsePrefix);

// iproute2 6.1 prints `[{}]` when no link is up, hence the optional fields.
const IpAddrSchema = z.array(
  z.object({
    ifname: z.string().optional(),
    flags: z.array(z.string()).default([]),
    addr_info: z.array(z.object({ family: z.string(), local: z.string().optional() })).default([]),
  }),
);

export type IpLinks = z.infer<typeof IpAddrSchema>;

export function parseIpAddr(stdout: string): IpLinks {
  const parsed = IpAddrSchema.safeParse(JSON.parse(stdout));
  if (!parsed.success) throw new KernelError("failed", `unexpected 'ip -j addr' output: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

const compareAddresses = (a: Address, b: Address) => a.family - b.family || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0);

const inside = (a: Address, p: Prefix) => {
  if (a.family !== p.family) return false;
  const { lo, hi } = prefixRange(p);
  return a.value >= lo && a.value <= hi;
};

/** Pure selection from `ip -j addr show up` output; sorted (IPv4 first), without duplicates. */
export function selectNodeAddresses(links: IpLinks, extraExcluded: readonly Prefix[] = []): Address[] {
  const excluded = [...ALWAYS_EXCLUDED, ...extraExcluded];
  const out = new Map<string, Address>();
  for (const link of links) {
    if (link.flags.includes("LOOPBACK")) continue;
    for (const info of link.addr_info) {
      if ((info.family !== "inet" && info.family !== "inet6") || info.local === undefined) continue;
      const a = parseAddress(info.local);
      if (!a || excluded.some((p) => inside(a, p))) continue;
      out.set(`${a.family}/${a.value}`, a);
    }
  }
  return [...out.values()].sort(compareAddresses);
}

/** The prefixes whose addresses are not node addresses because of the configuration (pod/service subnets). */
export function configExcludedPrefixes(main: ClusterInfo | null, profile: Profile): Prefix[] {
  return main && clusterNetworkExists(main, profile) ? [...main.podSubnets, ...main.serviceSubnets] : [];
}

/** Discover the node addresses in the target namespace (`ip -j addr show up` there). */
export async function discoverNodeAddresses(target: Target, main: ClusterInfo | null, profile: Profile): Promise<Address[]> {
  const res = await runIn(target, "ip", ["-j", "addr", "show", "up"]);
  if (res.code !== 0) throw new KernelError("failed", `ip addr show failed: ${res.stderr.trim()}`);
  return selectNodeAddresses(parseIpAddr(res.stdout), configExcludedPrefixes(main, profile));
}
