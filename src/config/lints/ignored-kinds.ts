// Lints on documents ingressfw ignores (§3.11): W015 for a misspelt firewall kind, and notes.
import { DEFAULT_ACTION_KIND } from "../decode-default-action.js";
import { LOG_KIND } from "../decode-log-config.js";
import { RULE_KIND } from "../decode-rule.js";
import type { Diagnostic } from "../diagnostics.js";
import type { IgnoredDocument } from "../model.js";

const FIREWALL_KINDS = [RULE_KIND, DEFAULT_ACTION_KIND, LOG_KIND];

/** Kinds Talos v1.14 reads pod/service subnets and host-DNS settings from (D6). */
const TALOS_NETWORK_KINDS = new Set(["KubeNetworkConfig", "ResolverConfig"]);

/** Levenshtein distance (insert, delete, substitute). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur.push(Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

export function ignoredDocumentLints(ignored: readonly IgnoredDocument[], verbose: boolean): Diagnostic[] {
  return ignored.flatMap(({ kind, pos }): Diagnostic[] => {
    const out: Diagnostic[] = [];
    // Case is compared loosely: `networkruleconfig` is as likely a typo as `NetworkRuleConfg`.
    const near = FIREWALL_KINDS.find((k) => editDistance(kind.toLowerCase(), k.toLowerCase()) <= 2);
    if (near) out.push({ severity: "warning", code: "W015", pos, message: `unknown kind ${kind}; did you mean ${near}? (ignored)` });
    if (TALOS_NETWORK_KINDS.has(kind)) {
      const message = `${kind} document ignored: Talos v1.14 takes pod/service subnets and host-DNS settings from it, so the node's ruleset may differ from ingressfw's`;
      out.push({ severity: "note", pos, message });
    } else if (verbose) {
      out.push({ severity: "note", pos, message: `${kind} document ignored` });
    }
    return out;
  });
}
