// Lints about the configuration as a whole: default action, profile and main document (W001, W010, W014, W016, W017).
import { DEFAULT_ACTION_KIND } from "../decode-default-action.js";
import { MAIN_DOC_ID } from "../decode-main.js";
import { ruleDocId } from "../decode-rule.js";
import type { Diagnostic, SourcePos } from "../diagnostics.js";
import { effectiveDefaultAction, type FirewallConfig, type ProfileName } from "../model.js";

/** Where a configuration-wide lint points: the default action's value, else the first rule document. */
function anchor(cfg: FirewallConfig): { docId: string; pos: SourcePos } | null {
  if (cfg.defaultAction) return { docId: DEFAULT_ACTION_KIND, pos: cfg.defaultAction.valuePos };
  const first = cfg.rules[0];
  return first ? { docId: ruleDocId(first.name), pos: first.pos } : null;
}

/**
 * W014: the host-DNS rule exists only in profile `talos`, block mode, with `forwardKubeDNSToHost` and a
 * `cluster.network` key (P7, P8). Its IPv6 variant gets a destination test only from an IPv6 pod subnet (§5.11).
 */
function hostDnsAllowsAnyIPv6(cfg: FirewallConfig, profile: ProfileName): boolean {
  const main = cfg.main;
  if (profile !== "talos" || effectiveDefaultAction(cfg) !== "block" || !main?.hasClusterNetwork || !main.forwardKubeDNSToHost) return false;
  return !main.podSubnets.some((p) => p.family === 6) && main.serviceSubnets.some((p) => p.family === 6);
}

export function configWideLints(cfg: FirewallConfig, profile: ProfileName): Diagnostic[] {
  const at = anchor(cfg);
  const block = effectiveDefaultAction(cfg) === "block";
  // No chains are created in accept mode without rules (§5.2): nothing here applies.
  if (!at || (!block && cfg.rules.length === 0)) return [];
  const out: Diagnostic[] = [];
  const add = (severity: "warning" | "note", code: string, message: string) => out.push({ severity, code, docId: at.docId, pos: at.pos, message });

  if (block && cfg.rules.length === 0) {
    add(
      "warning",
      "W001",
      "default action is block and there are no rules: only lo, siderolink, kubespan, established traffic, rate-limited ICMP (and, with a cluster network config, pod/service traffic) get in; the Talos API (50000/tcp) and kubelet (10250/tcp) become unreachable",
    );
  }
  if (profile === "talos-1.7" && !block) {
    add("warning", "W010", "accept mode has no conntrack guard in this profile: replies to connections the host opened can be dropped (Talos #13926, #10536)");
  }
  if (cfg.main && hostDnsAllowsAnyIPv6(cfg, profile)) {
    out.push({
      severity: "warning",
      code: "W014",
      docId: MAIN_DOC_ID,
      pos: cfg.main.pos,
      message: "host-DNS rule: IPv6 service subnets without an IPv6 pod subnet allow IPv6 port 53 to every address",
    });
  }
  if (block) add("note", "W016", "ICMP and ICMPv6 are rate-limited to 5/s overall; excess, including IPv6 neighbour discovery, is dropped");
  if (profile === "talos-1.7") add("note", "W017", "no prerouting chain in this profile: NodePort traffic DNATed by kube-proxy is not filtered");
  return out;
}
