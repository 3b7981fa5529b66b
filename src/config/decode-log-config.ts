// IngressLogConfig (apiVersion ingressfw/v1alpha1): ingressfw's own, optional document that turns on
// rate-limited logging of dropped packets. It never changes what the Talos documents mean: it only adds
// log rules (no verdict) in front of drops. Strict like the Talos kinds: unknown keys, wrong types and
// out-of-range values are errors at their position.
import { isScalar, type Node, type YAMLMap } from "yaml";
import type { Diagnostic, SourcePos } from "./diagnostics.js";
import { LOG_RATE_UNITS, type LogConfig, type LogRateUnit } from "./model.js";
import { isNullNode, kindOf, mapEntries, scalarText, typeError, type DocContext } from "./yaml-nodes.js";

export const LOG_KIND = "IngressLogConfig";
export const LOG_API_VERSION = "ingressfw/v1alpha1";
const KEYS = new Set(["apiVersion", "kind", "drops", "rate", "burst", "group"]);

/** Defaults: conservative, so that a flood of drops cannot flood the log reader. */
export const LOG_DEFAULTS = { drops: false, rate: { count: 10, per: "minute" }, burst: 5, group: 100 } as const;
export const LOG_LIMITS = { rateMax: 10_000, burstMax: 10_000, groupMax: 65_535 } as const;

const RATE = /^([0-9]+)\/([a-z]+)$/;
const UNIT_HINTS: Record<string, LogRateUnit> = {
  s: "second",
  sec: "second",
  seconds: "second",
  m: "minute",
  min: "minute",
  minutes: "minute",
  h: "hour",
  hours: "hour",
};

type Sink = (pos: SourcePos, path: string, message: string, hint?: string) => void;

function integerIn(ctx: DocContext, node: Node | null, lo: number, hi: number): number | string {
  if (kindOf(node) !== "integer") return typeError("integer", node);
  const n = Number((node as { value: unknown }).value);
  if (n < lo || n > hi) return `${scalarText(ctx, node as never)} is out of range ${lo}..${hi}`;
  return n;
}

function decodeRate(ctx: DocContext, node: Node | null, pos: SourcePos, error: Sink): LogConfig["rate"] | null {
  if (node && !isScalar(node)) {
    error(pos, "rate", typeError("string", node));
    return null;
  }
  const text = node ? scalarText(ctx, node) : "";
  const m = RATE.exec(text.trim());
  const unit = m?.[2];
  if (!m || unit === undefined || !(LOG_RATE_UNITS as readonly string[]).includes(unit)) {
    const near = unit !== undefined ? UNIT_HINTS[unit] : undefined;
    const hint = m && near ? `did you mean ${m[1]}/${near}?` : undefined;
    error(pos, "rate", `invalid rate ${JSON.stringify(text)}: expected N/second, N/minute or N/hour`, hint);
    return null;
  }
  const count = Number(m[1]);
  if (count < 1 || count > LOG_LIMITS.rateMax) {
    error(pos, "rate", `invalid rate ${JSON.stringify(text)}: N is out of range 1..${LOG_LIMITS.rateMax}`);
    return null;
  }
  return { count, per: unit as LogRateUnit };
}

export function decodeLogConfig(ctx: DocContext, root: YAMLMap, docPos: SourcePos, rootDiags: Diagnostic[]): { config: LogConfig; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const error: Sink = (pos, path, message, hint) => diagnostics.push({ severity: "error", pos, docId: LOG_KIND, path, message, ...(hint ? { hint } : {}) });
  for (const d of rootDiags.splice(0)) diagnostics.push({ ...d, docId: LOG_KIND });
  let drops: boolean = LOG_DEFAULTS.drops;
  let rate: LogConfig["rate"] = LOG_DEFAULTS.rate;
  let burst: number = LOG_DEFAULTS.burst;
  let group: number = LOG_DEFAULTS.group;
  let apiVersionSeen = false;
  // The caller reported the root's duplicate keys already.
  for (const e of mapEntries(ctx, root, () => {}, docPos)) {
    if (!KEYS.has(e.key)) {
      error(e.keyPos, e.key, `unknown field ${JSON.stringify(e.key)}`);
      continue;
    }
    if (e.key === "kind") continue;
    if (e.key === "apiVersion") {
      apiVersionSeen = true;
      const v = e.value && isScalar(e.value) ? scalarText(ctx, e.value) : "";
      if (v !== LOG_API_VERSION) error(e.valuePos, "apiVersion", `unsupported apiVersion ${JSON.stringify(v)} for kind ${LOG_KIND}`, `use ${LOG_API_VERSION}`);
      continue;
    }
    if (isNullNode(e.value)) continue; // absent and null take the default
    if (e.key === "drops") {
      if (kindOf(e.value) === "boolean") drops = (e.value as { value: boolean }).value;
      else error(e.valuePos, "drops", typeError("boolean", e.value));
    } else if (e.key === "rate") {
      rate = decodeRate(ctx, e.value, e.valuePos, error) ?? rate;
    } else {
      const [lo, hi] = e.key === "burst" ? [1, LOG_LIMITS.burstMax] : [0, LOG_LIMITS.groupMax];
      const r = integerIn(ctx, e.value, lo, hi);
      if (typeof r === "string") error(e.valuePos, e.key, r);
      else if (e.key === "burst") burst = r;
      else group = r;
    }
  }
  if (!apiVersionSeen) error(docPos, "apiVersion", `unsupported apiVersion "" for kind ${LOG_KIND}`, `use ${LOG_API_VERSION}`);
  return { config: { drops, rate, burst, group, pos: docPos }, diagnostics };
}
