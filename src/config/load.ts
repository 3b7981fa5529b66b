// YAML streams → firewall model + diagnostics (phases 1–3 of §4.1). Lints are separate (lint.ts).
import { LineCounter, isMap, isScalar, parseAllDocuments, type YAMLMap } from "yaml";
import type { Diagnostic, SourcePos } from "./diagnostics.js";
import { DEFAULT_ACTION_KIND, decodeDefaultAction } from "./decode-default-action.js";
import { LOG_API_VERSION, LOG_KIND, decodeLogConfig } from "./decode-log-config.js";
import { decodeMain } from "./decode-main.js";
import { RULE_KIND, decodeRule, ruleDocId } from "./decode-rule.js";
import type { SourceText } from "./input.js";
import type { ClusterInfo, DefaultActionConfig, FirewallConfig, IgnoredDocument, LogConfig, RuleConfig } from "./model.js";
import { mapEntries, posAt, posOf, scalarText, typeError, type DocContext } from "./yaml-nodes.js";

export interface LoadResult {
  readonly config: FirewallConfig;
  readonly diagnostics: Diagnostic[];
}

export function loadConfig(sources: readonly SourceText[]): LoadResult {
  const diagnostics: Diagnostic[] = [];
  let defaultAction: DefaultActionConfig | null = null;
  let main: ClusterInfo | null = null;
  let mainPos: SourcePos | null = null;
  const rules: RuleConfig[] = [];
  const ruleNames = new Map<string, SourcePos>();
  const ignored: IgnoredDocument[] = [];
  let logging: LogConfig | null = null;

  for (const source of sources) {
    const lines = new LineCounter();
    const docs = parseAllDocuments(source.text, { lineCounter: lines, uniqueKeys: false, version: "1.2", prettyErrors: false });
    const list = Array.isArray(docs) ? docs : [];
    const syntax = list.flatMap((d) => d.errors);
    if (syntax.length > 0) {
      // A syntax error stops the processing of this stream (§3.1); every parser error is listed.
      for (const err of syntax) {
        const { line, col } = lines.linePos(err.pos[0]);
        diagnostics.push({ severity: "error", pos: { file: source.file, line, col }, message: err.message.split("\n")[0]! });
      }
      continue;
    }
    for (const doc of list) {
      const ctx: DocContext = { file: source.file, text: source.text, lines, doc };
      const root = doc.contents;
      if (root === null || (isScalar(root) && (root.value === null || root.value === undefined))) continue; // empty document
      const docPos = posOf(ctx, root, posAt(ctx, 0));
      if (!isMap(root)) {
        diagnostics.push({ severity: "error", pos: docPos, message: typeError("mapping", root) });
        continue;
      }
      const rootDiags: Diagnostic[] = [];
      const entries = mapEntries(ctx, root, (d) => rootDiags.push({ ...d, severity: "error" }), docPos);
      const kindEntry = entries.find((e) => e.key === "kind");
      if (kindEntry?.value && !isScalar(kindEntry.value)) {
        diagnostics.push({ severity: "error", pos: kindEntry.valuePos, path: "kind", message: typeError("string", kindEntry.value) });
        continue;
      }
      // An empty or null kind is no kind, as in Talos's decoder.
      const kind = kindEntry?.value && isScalar(kindEntry.value) ? scalarText(ctx, kindEntry.value) || undefined : undefined;
      const versionEntry = entries.find((e) => e.key === "version");

      if (kind === RULE_KIND) {
        const r = decodeRule(ctx, root as YAMLMap, docPos, rootDiags);
        const first = ruleNames.get(r.rule.name);
        if (first) {
          const docId = ruleDocId(r.rule.name);
          diagnostics.push({ severity: "error", pos: r.idPos, docId, message: `duplicate document v1alpha1/${docId} is not allowed (line ${docPos.line})` });
          diagnostics.push({ severity: "note", pos: first, docId, message: "first defined here" });
          diagnostics.push(...r.diagnostics);
        } else {
          ruleNames.set(r.rule.name, r.idPos);
          diagnostics.push(...r.diagnostics);
          rules.push(r.rule);
        }
        continue;
      }
      if (kind === DEFAULT_ACTION_KIND) {
        const r = decodeDefaultAction(ctx, root as YAMLMap, docPos);
        const kindPos = kindEntry!.valuePos;
        if (defaultAction) {
          diagnostics.push({
            severity: "error",
            pos: kindPos,
            docId: DEFAULT_ACTION_KIND,
            message: `duplicate document v1alpha1/${DEFAULT_ACTION_KIND}/ is not allowed (line ${docPos.line})`,
          });
          diagnostics.push({ severity: "note", pos: defaultAction.pos, docId: DEFAULT_ACTION_KIND, message: "first defined here" });
          diagnostics.push(...r.diagnostics);
        } else {
          diagnostics.push(...r.diagnostics);
          defaultAction = r.config;
        }
        continue;
      }
      if (kind === LOG_KIND) {
        const r = decodeLogConfig(ctx, root as YAMLMap, docPos, rootDiags);
        if (logging) {
          const message = `duplicate document ${LOG_API_VERSION}/${LOG_KIND} is not allowed (line ${docPos.line})`;
          diagnostics.push({ severity: "error", pos: kindEntry!.valuePos, docId: LOG_KIND, message });
          diagnostics.push({ severity: "note", pos: logging.pos, docId: LOG_KIND, message: "first defined here" });
        } else logging = r.config;
        diagnostics.push(...r.diagnostics);
        continue;
      }
      if (kind !== undefined) {
        ignored.push({ kind, pos: kindEntry!.valuePos });
        continue;
      }
      if (!versionEntry) {
        diagnostics.push({ severity: "error", pos: docPos, message: "missing kind" });
        continue;
      }
      const version = versionEntry.value && isScalar(versionEntry.value) ? scalarText(ctx, versionEntry.value) : "";
      if (version !== "v1alpha1") {
        diagnostics.push({ severity: "error", pos: versionEntry.valuePos, message: `unsupported main document version ${JSON.stringify(version)}` });
        continue;
      }
      if (main) {
        diagnostics.push({ severity: "error", pos: docPos, message: "duplicate v1alpha1 main document" });
        diagnostics.push({ severity: "note", pos: mainPos!, message: "first defined here" });
        continue;
      }
      const m = decodeMain(ctx, root as YAMLMap, docPos);
      diagnostics.push(...m.diagnostics);
      main = m.info;
      mainPos = docPos;
    }
  }
  return { config: { defaultAction, rules, main, ignored, logging }, diagnostics };
}
