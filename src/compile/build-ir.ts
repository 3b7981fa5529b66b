// Firewall model → IR (§5.2–§5.11). Pure; the same IR feeds every kernel layout.
import { parsePrefix, type Address, type Prefix } from "../net/address.js";
import { FAMILY_BITS } from "../net/address.js";
import { effectiveDefaultAction, type ClusterInfo, type FirewallConfig, type RuleConfig } from "../config/model.js";
import type { AddrMatch, IrChain, IrRule, IrTable } from "./ir.js";
import { addDropLogging } from "./drop-log.js";
import { PREROUTING_PRIORITY, type Profile } from "./profiles.js";

export const TRUSTED_INTERFACES = ["lo", "siderolink", "kubespan"] as const;
export const HOST_DNS_V4 = "169.254.116.108/32";
export const HOST_DNS_V6 = "fd54:616c:6f73::204f:5320:444e:531/128";
export const ICMP_TYPE_DROP = [13, 14, 17, 18] as const;
const ICMP_RATE = 5;

export interface BuildOptions {
  readonly profile: Profile;
  /** The node's own addresses; null when unknown (then there is no prerouting chain, §5.10). */
  readonly nodeAddresses: readonly Address[] | null;
}

/** Whether a cluster network config exists (P8). */
export function clusterNetworkExists(main: ClusterInfo | null, profile: Profile): boolean {
  if (!main) return false;
  return profile.clusterNetworkNeedsKey ? main.hasClusterNetwork : true;
}

/** A document's match and verdict, without the chain's guards; shared by its rules in both chains. */
function userRule(rule: RuleConfig, block: boolean, counter: boolean): IrRule {
  const include: Prefix[] = [];
  const exclude: Prefix[] = [];
  for (const e of rule.ingress) {
    if (e.subnet) include.push(e.subnet);
    if (e.except) exclude.push(e.except);
  }
  return {
    l4: { protocol: rule.protocol, dports: rule.ports.map(({ lo, hi }) => ({ lo, hi })).sort((a, b) => a.lo - b.lo) },
    src: { include, exclude, invert: !block },
    counter,
    verdict: block ? "accept" : "drop",
    origin: { kind: "rule", name: rule.name, pos: rule.pos },
  };
}

function hostPrefix(a: Address): Prefix {
  return { family: a.family, addr: a.value, bits: FAMILY_BITS[a.family], text: "" };
}

export function buildIr(cfg: FirewallConfig, opts: BuildOptions): IrTable {
  const { profile } = opts;
  const mode = effectiveDefaultAction(cfg);
  if (mode === "accept" && cfg.rules.length === 0) return { chains: [] };

  const block = mode === "block";
  const counter = profile.counters;
  const trusted: IrRule = {
    iifname: { names: TRUSTED_INTERFACES, negate: false },
    counter,
    verdict: "accept",
    origin: { kind: "builtin", id: "trusted-interfaces" },
  };

  const ingress: IrRule[] = [trusted];
  if (block || profile.conntrackInAcceptMode) {
    ingress.push(
      { ctState: ["established", "related"], counter, verdict: "accept", origin: { kind: "builtin", id: "conntrack-established" } },
      { ctState: ["invalid"], counter, verdict: "drop", origin: { kind: "builtin", id: "conntrack-invalid" } },
    );
  }
  if (block) {
    if (profile.icmpTypeDrop) {
      ingress.push({ l4: { protocol: 1, icmpTypes: ICMP_TYPE_DROP }, counter, verdict: "drop", origin: { kind: "builtin", id: "icmp-type-drop" } });
    }
    const limit = { rate: ICMP_RATE, burst: profile.icmpBurst };
    ingress.push(
      { l4: { protocol: 1 }, limit, counter, verdict: "accept", origin: { kind: "builtin", id: "icmp-limit" } },
      { l4: { protocol: 58 }, limit, counter, verdict: "accept", origin: { kind: "builtin", id: "icmpv6-limit" } },
    );
    const main = cfg.main;
    if (main && clusterNetworkExists(main, profile)) {
      const podService = [...main.podSubnets, ...main.serviceSubnets];
      if (profile.hostDns && main.forwardKubeDNSToHost) {
        const hostDns: Prefix[] = [parsePrefix(HOST_DNS_V4), ...main.podSubnets.filter((p) => p.family === 6).map(() => parsePrefix(HOST_DNS_V6))];
        for (const [protocol, id] of [
          [17, "host-dns-udp"],
          [6, "host-dns-tcp"],
        ] as const) {
          ingress.push({
            l4: { protocol, dports: [{ lo: 53, hi: 53 }] },
            src: { include: podService, exclude: [], invert: false },
            dst: { include: hostDns, exclude: [], invert: false },
            counter,
            verdict: "accept",
            origin: { kind: "builtin", id },
          });
        }
      }
      ingress.push({
        src: { include: podService, exclude: [], invert: false },
        dst: { include: podService, exclude: [], invert: false },
        counter,
        verdict: "accept",
        origin: { kind: "builtin", id: "pod-service" },
      });
    }
  }
  const userRules = cfg.rules.map((rule) => userRule(rule, block, counter));
  for (const r of userRules) ingress.push(r);

  const chains: IrChain[] = [{ name: "ingress", hook: "input", priority: profile.ingressPriority, policy: block ? "drop" : "accept", rules: ingress }];

  if (profile.prerouting && opts.nodeAddresses !== null) {
    const notForNode: AddrMatch = { include: opts.nodeAddresses.map(hostPrefix), exclude: [], invert: true };
    const pre: IrRule[] = [
      trusted,
      { dst: notForNode, counter, verdict: "accept", origin: { kind: "builtin", id: "not-for-node" } },
      ...userRules.map((r): IrRule => ({ ctState: ["new"], ...r })),
    ];
    if (block) {
      pre.push(
        { ctState: ["new"], l4: { protocol: 6 }, counter, verdict: "drop", origin: { kind: "builtin", id: "new-tcp-drop" } },
        { ctState: ["new"], l4: { protocol: 17 }, counter, verdict: "drop", origin: { kind: "builtin", id: "new-udp-drop" } },
      );
    }
    chains.push({ name: "prerouting", hook: "prerouting", priority: PREROUTING_PRIORITY, policy: "accept", rules: pre });
  }
  return addDropLogging({ chains }, cfg.logging);
}
