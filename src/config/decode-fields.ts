// Decoders for the value types the firewall documents share: enums, ports and prefixes.
import { isScalar, type Node } from "yaml";
import { AddressParseError, parsePrefix, type Prefix } from "../net/address.js";
import type { SourcePos } from "./diagnostics.js";
import type { PortRange } from "./model.js";
import { kindOf, scalarText, typeError, type DocContext } from "./yaml-nodes.js";

export type Decoded<T> = { ok: true; value: T } | { ok: false; message: string; hint?: string };

const ok = <T>(value: T): Decoded<T> => ({ ok: true, value });
const fail = <T>(message: string, hint?: string): Decoded<T> => (hint ? { ok: false, message, hint } : { ok: false, message });

/** Talos enum lookup: the exact spelling first, then the lower-cased one (§3.3, §3.7). */
export function decodeEnum<T>(ctx: DocContext, node: Node | null, values: Record<string, T>, typeName: string, hints: Record<string, string> = {}): Decoded<T> {
  if (node && !isScalar(node)) return fail(typeError("string", node));
  const text = node ? scalarText(ctx, node) : "";
  const hit = Object.hasOwn(values, text) ? values[text] : Object.hasOwn(values, text.toLowerCase()) ? values[text.toLowerCase()] : undefined;
  if (hit !== undefined) return ok(hit);
  return fail(`${text} does not belong to ${typeName} values`, hints[text.toLowerCase()]);
}

const PORT_DIGITS = /^[0-9]+$/;

/** One element of `portSelector.ports` (§3.6). */
export function decodePort(ctx: DocContext, node: Node | null, pos: SourcePos): Decoded<PortRange> {
  if (node && !isScalar(node)) return fail(typeError("integer or string", node));
  const kind = kindOf(node);
  const raw = node && isScalar(node) ? scalarText(ctx, node) : "";
  const sourceRaw = node?.range ? ctx.text.slice(node.range[0], node.range[1]).trim() : raw;
  const bad = (): Decoded<PortRange> => {
    let hint: string | undefined;
    if (kind === "string" && PORT_DIGITS.test(raw)) hint = "write the port unquoted";
    else if (/^\d+:\d+$/.test(raw)) hint = `ranges use a dash: ${raw.replace(":", "-")}`;
    return fail(`invalid port range: ${JSON.stringify(raw)}`, hint);
  };
  if (kind === "integer" || kind === "float") {
    const n = Number((node as { value: unknown }).value);
    if (!Number.isInteger(n) || n < 0 || n > 65535) return bad();
    return ok({ lo: n, hi: n, raw: sourceRaw, pos });
  }
  if (kind !== "string") return bad();
  const dash = raw.indexOf("-");
  if (dash < 0) return bad();
  const [l, h] = [raw.slice(0, dash), raw.slice(dash + 1)];
  if (!PORT_DIGITS.test(l) || !PORT_DIGITS.test(h)) return bad();
  const [lo, hi] = [Number(l), Number(h)];
  if (lo > 65535 || hi > 65535) return bad();
  return ok({ lo, hi, raw: sourceRaw, pos });
}

/** A prefix scalar; null/empty is the zero prefix (returned as null). */
export function decodePrefix(ctx: DocContext, node: Node | null, listHint?: string): Decoded<Prefix | null> {
  if (node && !isScalar(node)) return fail(typeError("string", node), kindOf(node) === "list" ? listHint : undefined);
  const text = node ? scalarText(ctx, node) : "";
  if (text === "") return ok(null);
  try {
    return ok(parsePrefix(text));
  } catch (e) {
    if (e instanceof AddressParseError) return fail(e.message);
    throw e;
  }
}
