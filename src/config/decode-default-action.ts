// NetworkDefaultActionConfig decoding (§3.3).
import { isScalar, type YAMLMap } from "yaml";
import type { Diagnostic, SourcePos } from "./diagnostics.js";
import { decodeEnum } from "./decode-fields.js";
import type { DefaultAction, DefaultActionConfig } from "./model.js";
import { isNullNode, mapEntries, scalarText, type DocContext } from "./yaml-nodes.js";

export const DEFAULT_ACTION_KIND = "NetworkDefaultActionConfig";
const KEYS = new Set(["apiVersion", "kind", "ingress"]);
const ACTIONS: Record<string, DefaultAction> = { accept: "accept", block: "block" };
const HINTS: Record<string, string> = {
  drop: "did you mean block?",
  deny: "did you mean block?",
  reject: "did you mean block?",
  allow: "did you mean accept?",
};

export function decodeDefaultAction(ctx: DocContext, root: YAMLMap, docPos: SourcePos): { config: DefaultActionConfig; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const error = (pos: SourcePos, path: string, message: string, hint?: string) =>
    diagnostics.push({ severity: "error", pos, docId: DEFAULT_ACTION_KIND, path, message, ...(hint ? { hint } : {}) });
  let action: DefaultAction = "accept";
  let valuePos = docPos;
  let apiVersionSeen = false;
  for (const e of mapEntries(ctx, root, (d) => error(d.pos, "", d.message), docPos)) {
    if (!KEYS.has(e.key)) error(e.keyPos, e.key, `unknown field ${JSON.stringify(e.key)}`);
    else if (e.key === "apiVersion") {
      apiVersionSeen = true;
      const v = e.value && isScalar(e.value) ? scalarText(ctx, e.value) : "";
      if (v !== "v1alpha1") error(e.valuePos, "apiVersion", `unsupported apiVersion ${JSON.stringify(v)} for kind ${DEFAULT_ACTION_KIND}`);
    } else if (e.key === "ingress") {
      valuePos = e.valuePos;
      if (isNullNode(e.value)) continue;
      const r = decodeEnum(ctx, e.value, ACTIONS, "DefaultAction", HINTS);
      if (r.ok) action = r.value;
      else error(e.valuePos, "ingress", r.message, r.hint);
    }
  }
  if (!apiVersionSeen) error(docPos, "apiVersion", `unsupported apiVersion "" for kind ${DEFAULT_ACTION_KIND}`);
  return { config: { action, pos: docPos, valuePos }, diagnostics };
}
