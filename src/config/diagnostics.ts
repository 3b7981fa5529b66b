// Diagnostics carry file:line:col (D1) and are collected, never thrown (D2).

export interface SourcePos {
  readonly file: string;
  readonly line: number; // 1-based
  readonly col: number; // 1-based
}

export type Severity = "error" | "warning" | "note";

export interface Diagnostic {
  readonly severity: Severity;
  readonly pos: SourcePos;
  /** Stable lint code (W001…) for warnings and notes from lints. */
  readonly code?: string;
  /** `NetworkRuleConfig/<name>` or `NetworkDefaultActionConfig`; absent for stream-level errors. */
  readonly docId?: string;
  /** Dotted path of the offending node inside the document, e.g. `portSelector.ports[1]`. */
  readonly path?: string;
  /** The message; for Talos errors byte-for-byte the Talos text. */
  readonly message: string;
  /** A suggestion printed after the message. */
  readonly hint?: string;
}

/** One diagnostic per line: control characters (a multi-line scalar quoted in a message or a name) are escaped. */
export function formatDiagnostic(d: Diagnostic): string {
  const label = d.code ? `${d.severity}[${d.code}]` : d.severity;
  const id = d.docId !== undefined ? `${d.docId}: ` : "";
  const hint = d.hint ? ` (hint: ${d.hint})` : "";
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  return `${d.pos.file}:${d.pos.line}:${d.pos.col}: ${label}: ${id}${d.message}${hint}`.replace(/[\u0000-\u001f\u007f]/g, escapeControl);
}

function escapeControl(c: string): string {
  const named: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };
  return named[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

export function hasErrors(diags: readonly Diagnostic[]): boolean {
  return diags.some((d) => d.severity === "error");
}
