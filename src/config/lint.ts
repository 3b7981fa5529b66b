// Lints W001–W018 (§9): warnings and notes that never change compilation.
//
// Order (stable): configuration-wide lints (lints/config-wide.ts, by code), then ignored documents in
// document order (W015 before its note), then each NetworkRuleConfig in document order with its lints
// sorted by code and, within a code, in source order. W007 is reported on the later rule of a pair.
import { ruleDocId } from "./decode-rule.js";
import type { Diagnostic } from "./diagnostics.js";
import { effectiveDefaultAction, type FirewallConfig, type ProfileName } from "./model.js";
import { configWideLints } from "./lints/config-wide.js";
import { ignoredDocumentLints } from "./lints/ignored-kinds.js";
import { overlapLints, portLints } from "./lints/rule-ports.js";
import { sourceLints } from "./lints/rule-sources.js";

export interface LintOptions {
  readonly profile: ProfileName;
  /** Also report informational notes (ignored kinds). */
  readonly verbose: boolean;
}

export function lintConfig(cfg: FirewallConfig, opts: LintOptions): Diagnostic[] {
  const mode = effectiveDefaultAction(cfg);
  const overlaps = overlapLints(cfg.rules, mode);
  const ruleLints = cfg.rules.flatMap((rule, i) => {
    const findings = [...portLints(rule), ...overlaps[i]!, ...sourceLints(rule, mode)];
    const docId = ruleDocId(rule.name);
    return findings.sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0)).map((f): Diagnostic => ({ severity: "warning", docId, ...f }));
  });
  return [...configWideLints(cfg, opts.profile), ...ignoredDocumentLints(cfg.ignored, opts.verbose), ...ruleLints];
}
