// Talos's NetworkRuleConfig.Validate (§4.2), in its order, collecting every error (D2).
import type { SourcePos } from "./diagnostics.js";
import type { RuleConfig } from "./model.js";

export interface ValidationError {
  readonly pos: SourcePos;
  readonly path: string;
  readonly message: string;
  /** A second place the message refers to (the earlier range of an overlapping pair). */
  readonly related?: { readonly pos: SourcePos; readonly message: string };
}

export interface DecodeFailures {
  /** `name` had the wrong type: `name is required` would only follow from that (§4.4). */
  readonly nameFailed: boolean;
  /** A port element failed to decode: an empty list is then not reported again (§4.4). */
  readonly portsFailed: boolean;
  /** Indexes of ingress entries whose subnet failed to decode. */
  readonly failedSubnets: ReadonlySet<number>;
}

export function validateRule(rule: RuleConfig, failures: DecodeFailures): ValidationError[] {
  const out: ValidationError[] = [];
  if (rule.name === "" && !failures.nameFailed) out.push({ pos: rule.namePos, path: "name", message: "name is required" });
  if (rule.ports.length === 0) {
    if (!failures.portsFailed) out.push({ pos: rule.portsPos, path: "portSelector.ports", message: "portSelector.ports is required" });
  } else {
    // Stable sort by lo: equal lo keeps document order, so the later-written range is reported.
    const sorted = [...rule.ports].sort((a, b) => a.lo - b.lo);
    sorted.forEach((r, i) => {
      const path = `portSelector.ports[${rule.ports.indexOf(r)}]`;
      if (r.lo > r.hi) out.push({ pos: r.pos, path, message: `invalid port range: ${r.lo}-${r.hi}` });
      const prev = sorted[i - 1];
      if (prev && (r.lo === prev.lo || r.lo <= prev.hi)) {
        out.push({
          pos: r.pos,
          path,
          message: `invalid port range: ${r.lo}-${r.hi}, overlaps with ${prev.lo}-${prev.hi}`,
          related: { pos: prev.pos, message: `${prev.lo}-${prev.hi} is here` },
        });
      }
    });
  }
  rule.ingress.forEach((entry, i) => {
    if (entry.subnet === null && !failures.failedSubnets.has(i)) {
      out.push({ pos: entry.subnetPos, path: `ingress[${i}].subnet`, message: "invalid subnet: invalid Prefix" });
    }
  });
  return out;
}
