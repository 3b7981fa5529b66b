// YAML streams → firewall model + diagnostics (phases 1–3 of §4.1). Lints are separate (lint.ts).
import { Composer, LineCounter, Parser, isMap, isScalar, type YAMLError, type YAMLMap } from "yaml";
import type { Diagnostic, SourcePos } from "./diagnostics.js";
import { DEFAULT_ACTION_KIND, decodeDefaultAction } from "./decode-default-action.js";
import { LOG_API_VERSION, LOG_KIND, decodeLogConfig } from "./decode-log-config.js";
import { decodeMain } from "./decode-main.js";
import { RULE_KIND, decodeRule, ruleDocId, type DecodedRule } from "./decode-rule.js";
import type { SourceText } from "./input.js";
import type { ClusterInfo, DefaultActionConfig, FirewallConfig, IgnoredDocument, LogConfig, RuleConfig } from "./model.js";
import { mapEntries, posAt, posOf, scalarText, typeError, type DocContext } from "./yaml-nodes.js";

export interface LoadResult {
  readonly config: FirewallConfig;
  readonly diagnostics: Diagnostic[];
}

const YAML_OPTIONS = { uniqueKeys: false, version: "1.2", prettyErrors: false } as const;

/** One document, decoded on its own: what it says, before duplicates across documents are considered. */
type DecodedDocument =
  | { readonly kind: "skipped"; readonly diagnostics: readonly Diagnostic[] }
  | { readonly kind: "rule"; readonly docPos: SourcePos; readonly decoded: DecodedRule }
  | { readonly kind: "defaultAction"; readonly docPos: SourcePos; readonly kindPos: SourcePos; readonly decoded: ReturnType<typeof decodeDefaultAction> }
  | { readonly kind: "log"; readonly docPos: SourcePos; readonly kindPos: SourcePos; readonly decoded: ReturnType<typeof decodeLogConfig> }
  | { readonly kind: "ignored"; readonly ignored: IgnoredDocument }
  | { readonly kind: "main"; readonly docPos: SourcePos; readonly decoded: ReturnType<typeof decodeMain> };

/** A document that contributes only these errors. */
const skipped = (diagnostics: Diagnostic[]): DecodedDocument => ({ kind: "skipped", diagnostics });

/** Empty documents decode to nothing. */
function decodeDocument(ctx: DocContext): DecodedDocument | null {
  const root = ctx.doc.contents;
  if (root === null || (isScalar(root) && (root.value === null || root.value === undefined))) return null;
  const docPos = posOf(ctx, root, posAt(ctx, 0));
  if (!isMap(root)) return skipped([{ severity: "error", pos: docPos, message: typeError("mapping", root) }]);
  const rootDiags: Diagnostic[] = [];
  const entries = mapEntries(ctx, root, (d) => rootDiags.push({ ...d, severity: "error" }), docPos);
  const kindEntry = entries.find((e) => e.key === "kind");
  if (kindEntry?.value && !isScalar(kindEntry.value)) {
    return skipped([{ severity: "error", pos: kindEntry.valuePos, path: "kind", message: typeError("string", kindEntry.value) }]);
  }
  // An empty or null kind is no kind, as in Talos's decoder.
  const kind = kindEntry?.value && isScalar(kindEntry.value) ? scalarText(ctx, kindEntry.value) || undefined : undefined;
  if (kind === RULE_KIND) return { kind: "rule", docPos, decoded: decodeRule(ctx, entries, docPos, rootDiags) };
  if (kind === DEFAULT_ACTION_KIND) return { kind: "defaultAction", docPos, kindPos: kindEntry!.valuePos, decoded: decodeDefaultAction(ctx, root, docPos) };
  if (kind === LOG_KIND) return { kind: "log", docPos, kindPos: kindEntry!.valuePos, decoded: decodeLogConfig(ctx, root as YAMLMap, docPos, rootDiags) };
  if (kind !== undefined) return { kind: "ignored", ignored: { kind, pos: kindEntry!.valuePos } };
  const versionEntry = entries.find((e) => e.key === "version");
  if (!versionEntry) return skipped([{ severity: "error", pos: docPos, message: "missing kind" }]);
  const version = versionEntry.value && isScalar(versionEntry.value) ? scalarText(ctx, versionEntry.value) : "";
  if (version !== "v1alpha1") {
    return skipped([{ severity: "error", pos: versionEntry.valuePos, message: `unsupported main document version ${JSON.stringify(version)}` }]);
  }
  return { kind: "main", docPos, decoded: decodeMain(ctx, root, docPos) };
}

/**
 * The documents of one stream, decoded as the parser delivers them so that their syntax trees need not
 * all be kept; or, when the stream has a syntax error, every parser error instead (§3.1). Documents after
 * the first error are not decoded: what is decoded is dropped anyway.
 */
function decodeStream(source: SourceText): { documents: DecodedDocument[]; syntax: Diagnostic[] } {
  const lines = new LineCounter();
  const errors: YAMLError[] = [];
  const documents: DecodedDocument[] = [];
  for (const doc of new Composer(YAML_OPTIONS).compose(new Parser(lines.addNewLine).parse(source.text))) {
    errors.push(...doc.errors);
    if (errors.length > 0) continue;
    const decoded = decodeDocument({ file: source.file, text: source.text, lines, doc });
    if (decoded) documents.push(decoded);
  }
  const syntax = errors.map((err): Diagnostic => {
    const { line, col } = lines.linePos(err.pos[0]);
    return { severity: "error", pos: { file: source.file, line, col }, message: err.message.split("\n")[0]! };
  });
  return { documents: syntax.length > 0 ? [] : documents, syntax };
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
    const { documents, syntax } = decodeStream(source);
    diagnostics.push(...syntax);
    for (const d of documents) {
      switch (d.kind) {
        case "skipped":
          diagnostics.push(...d.diagnostics);
          break;
        case "rule": {
          const r = d.decoded;
          const first = ruleNames.get(r.rule.name);
          if (first) {
            const docId = ruleDocId(r.rule.name);
            diagnostics.push({
              severity: "error",
              pos: r.idPos,
              docId,
              message: `duplicate document v1alpha1/${docId} is not allowed (line ${d.docPos.line})`,
            });
            diagnostics.push({ severity: "note", pos: first, docId, message: "first defined here" });
            diagnostics.push(...r.diagnostics);
          } else {
            ruleNames.set(r.rule.name, r.idPos);
            diagnostics.push(...r.diagnostics);
            rules.push(r.rule);
          }
          break;
        }
        case "defaultAction": {
          const r = d.decoded;
          if (defaultAction) {
            diagnostics.push({
              severity: "error",
              pos: d.kindPos,
              docId: DEFAULT_ACTION_KIND,
              message: `duplicate document v1alpha1/${DEFAULT_ACTION_KIND}/ is not allowed (line ${d.docPos.line})`,
            });
            diagnostics.push({ severity: "note", pos: defaultAction.pos, docId: DEFAULT_ACTION_KIND, message: "first defined here" });
            diagnostics.push(...r.diagnostics);
          } else {
            diagnostics.push(...r.diagnostics);
            defaultAction = r.config;
          }
          break;
        }
        case "log": {
          const r = d.decoded;
          if (logging) {
            const message = `duplicate document ${LOG_API_VERSION}/${LOG_KIND} is not allowed (line ${d.docPos.line})`;
            diagnostics.push({ severity: "error", pos: d.kindPos, docId: LOG_KIND, message });
            diagnostics.push({ severity: "note", pos: logging.pos, docId: LOG_KIND, message: "first defined here" });
          } else logging = r.config;
          diagnostics.push(...r.diagnostics);
          break;
        }
        case "ignored":
          ignored.push(d.ignored);
          break;
        case "main":
          // A second main document is reported as such; what it says is not.
          if (main) {
            diagnostics.push({ severity: "error", pos: d.docPos, message: "duplicate v1alpha1 main document" });
            diagnostics.push({ severity: "note", pos: mainPos!, message: "first defined here" });
          } else {
            diagnostics.push(...d.decoded.diagnostics);
            main = d.decoded.info;
            mainPos = d.docPos;
          }
          break;
      }
    }
  }
  return { config: { defaultAction, rules, main, ignored, logging }, diagnostics };
}
