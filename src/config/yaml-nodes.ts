// Thin helpers over the `yaml` AST: positions, kinds and key lookup with duplicate detection.
import { isAlias, isMap, isScalar, isSeq, type LineCounter, type Document, type Node, type Pair, type Scalar, type YAMLMap } from "yaml";
import type { Diagnostic, SourcePos } from "./diagnostics.js";

export interface DocContext {
  readonly file: string;
  readonly text: string;
  readonly lines: LineCounter;
  readonly doc: Document.Parsed;
}

export function posAt(ctx: DocContext, offset: number): SourcePos {
  const { line, col } = ctx.lines.linePos(offset);
  return { file: ctx.file, line, col };
}

export function posOf(ctx: DocContext, node: Node | null | undefined, fallback: SourcePos): SourcePos {
  const start = node?.range?.[0];
  return start === undefined ? fallback : posAt(ctx, start);
}

export function deref(ctx: DocContext, node: unknown): Node | null {
  if (isAlias(node)) return (node.resolve(ctx.doc) as Node | undefined) ?? null;
  return (node as Node | null) ?? null;
}

export type NodeKind = "mapping" | "list" | "string" | "integer" | "float" | "boolean" | "null";

export function kindOf(node: Node | null): NodeKind {
  if (node === null || node === undefined) return "null";
  if (isMap(node)) return "mapping";
  if (isSeq(node)) return "list";
  if (isScalar(node)) {
    const v = node.value;
    if (v === null || v === undefined) return "null";
    if (typeof v === "boolean") return "boolean";
    if (typeof v === "number" || typeof v === "bigint") return Number.isInteger(Number(v)) ? "integer" : "float";
    return "string";
  }
  return "string";
}

/** The source text of a scalar (quotes stripped for quoted scalars: their value is the text). */
export function scalarText(ctx: DocContext, node: Scalar): string {
  if (typeof node.value === "string") return node.value;
  if (node.value === null || node.value === undefined) return "";
  const [start, end] = node.range ?? [0, 0];
  return ctx.text.slice(start, end).trim() || String(node.value);
}

export function isNullNode(node: Node | null): boolean {
  return kindOf(node) === "null";
}

export interface Entry {
  readonly key: string;
  readonly keyNode: Node;
  readonly value: Node | null;
  readonly keyPos: SourcePos;
  /** Position of the value, or of the key when the value is empty. */
  readonly valuePos: SourcePos;
}

/**
 * The entries of a mapping in source order. A repeated key is reported (`duplicate key "<key>"`,
 * ingressfw choice) and only its first occurrence is kept.
 */
export function mapEntries(ctx: DocContext, map: YAMLMap, report: (d: Omit<Diagnostic, "severity">) => void, fallback: SourcePos): Entry[] {
  const seen = new Set<string>();
  const out: Entry[] = [];
  for (const pair of map.items as Pair<unknown, unknown>[]) {
    const keyNode = deref(ctx, pair.key);
    const key = keyNode && isScalar(keyNode) ? scalarText(ctx, keyNode) : String(keyNode);
    const keyPos = posOf(ctx, keyNode, fallback);
    if (seen.has(key)) {
      report({ pos: keyPos, message: `duplicate key ${JSON.stringify(key)}` });
      continue;
    }
    seen.add(key);
    const value = deref(ctx, pair.value);
    // An empty value (`name:`) is a zero-width node just past the colon: point at the key instead.
    const range = value?.range;
    const empty = range != null && range[0] === range[1];
    out.push({ key, keyNode: keyNode as Node, value, keyPos, valuePos: empty ? keyPos : posOf(ctx, value, keyPos) });
  }
  return out;
}

export function typeError(expected: string, node: Node | null): string {
  return `expected ${expected}, got ${kindOf(node)}`;
}
