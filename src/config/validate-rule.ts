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
    // Indexes stably sorted by lo: equal lo keeps document order, so the later-written range is reported.
    const order = rule.ports.map((_, i) => i).sort((a, b) => rule.ports[a]!.lo - rule.ports[b]!.lo);
    order.forEach((index, i) => {
      const r = rule.ports[index]!;
      const path = `portSelector.ports[${index}]`;
      if (r.lo > r.hi) out.push({ pos: r.pos, path, message: `invalid port range: ${r.lo}-${r.hi}` });
      const prev = i > 0 ? rule.ports[order[i - 1]!] : undefined;
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
