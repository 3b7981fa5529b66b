// A canonical form for nftables rules, computed the same way from the JSON ingressfw sends and the
// JSON `nft -j list` prints, so the two compare equal exactly when the kernel holds what was sent.
//
// nft 1.0.6 lists rules differently from how they are written (all checked against the kernel):
// - a one-element anonymous set is sent to the kernel as a plain comparison and listed as a value;
// - `meta l4proto tcp` + `th dport` is listed as `tcp dport`, `meta l4proto icmp` + `th dport` as
//   `icmp checksum` (the same two bytes), `meta l4proto icmp` + `icmp type` as `icmp type`;
// - `meta nfproto ipv4` before `ip saddr` is elided (the payload implies it);
// - `meta l4proto 0` before `th dport` is elided although the kernel holds it (nft --debug=netlink);
// - interface-name sets come back reordered, ICMP types as names, `limit` with its default burst 5;
// - a single conntrack state is an `in` (bitmask) test either way.
// The canonical form therefore turns every match value into a sorted set of normalised elements
// (address and port sets as merged intervals), makes implied protocol matches explicit, drops
// `meta l4proto 0` next to a `th` port match, removes duplicate matches, and sorts the matches between
// two statements (pure matches commute). Counter values and handles are dropped.
import { FAMILY_BITS, FAMILY_MAX, formatAddress, hostMask, parseAddress, rangeAsPrefixLength, type Family } from "../net/address.js";
import { normalize, type Interval } from "../net/interval.js";
import { ICMP_TYPE_NAMES } from "../compile/elements.js";

type Json = unknown;
type JsonObject = Record<string, Json>;

interface MatchAtom {
  readonly key: string;
  readonly op: string;
  readonly values: readonly string[];
}

const isObject = (v: Json): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v);

/** JSON with object keys sorted, so equal structures print equally. */
export function stableJson(v: Json): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(",")}]`;
  if (isObject(v)) {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson(v[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v) ?? "null";
}

/** Deep equality of JSON values (object keys in any order), without building strings. */
export function jsonEqual(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  // Plain loops: this compares whole tables (thousands of rules) on every in-place update.
  for (const k in a) if (!(k in b) || !jsonEqual((a as JsonObject)[k], (b as JsonObject)[k])) return false;
  // b has no key a lacks (checked without Object.keys: no array per object compared).
  for (const k in b) if (!(k in a)) return false;
  return true;
}

const L4_NUMBERS: Record<string, number> = { icmp: 1, tcp: 6, udp: 17, "ipv6-icmp": 58, icmpv6: 58 };
const ICMP_TYPE_NUMBERS: Record<string, number> = Object.fromEntries(Object.entries(ICMP_TYPE_NAMES).map(([n, name]) => [name, Number(n)]));

/** The elements of a match's right-hand side: a set's elements, or the one value. */
function elementsOf(right: Json): Json[] {
  return isObject(right) && Array.isArray(right.set) ? right.set : [right];
}

function intervalText(iv: Interval, show: (v: bigint) => string): string {
  return iv.lo === iv.hi ? show(iv.lo) : `${show(iv.lo)}-${show(iv.hi)}`;
}

/** Address elements (value, prefix, range) → intervals (unmerged); null if an element is not an address. */
function addressIntervals(family: Family, right: Json): Interval[] | null {
  const ivs: Interval[] = [];
  const addr = (t: Json) => {
    const a = typeof t === "string" ? parseAddress(t) : null;
    return a && a.family === family ? a.value : null;
  };
  for (const e of elementsOf(right)) {
    if (isObject(e) && isObject(e.prefix)) {
      const base = addr(e.prefix.addr);
      const len = e.prefix.len;
      if (base === null || typeof len !== "number" || !Number.isInteger(len) || len < 0 || len > FAMILY_BITS[family]) return null;
      const host = hostMask(family, len);
      const lo = base & ~host & FAMILY_MAX[family];
      ivs.push({ lo, hi: lo | host });
    } else if (isObject(e) && Array.isArray(e.range)) {
      const lo = addr(e.range[0]);
      const hi = addr(e.range[1]);
      if (lo === null || hi === null) return null;
      ivs.push({ lo, hi });
    } else {
      const v = addr(e);
      if (v === null) return null;
      ivs.push({ lo: v, hi: v });
    }
  }
  return ivs;
}

/** Address elements → merged intervals as text; null if an element is not an address. */
function addressValues(family: Family, right: Json): string[] | null {
  const ivs = addressIntervals(family, right);
  return ivs && normalize(ivs).map((iv) => intervalText(iv, (v) => formatAddress(family, v)));
}

/** Port elements (number, range) → intervals (unmerged); null if an element is not a port. */
function portIntervals(right: Json): Interval[] | null {
  const ivs: Interval[] = [];
  for (const e of elementsOf(right)) {
    if (typeof e === "number") ivs.push({ lo: BigInt(e), hi: BigInt(e) });
    else if (isObject(e) && Array.isArray(e.range) && typeof e.range[0] === "number" && typeof e.range[1] === "number") {
      ivs.push({ lo: BigInt(e.range[0]), hi: BigInt(e.range[1]) });
    } else return null;
  }
  return ivs;
}

/** Port elements → merged intervals as text; null if an element is not a port. */
function portValues(right: Json): string[] | null {
  const ivs = portIntervals(right);
  return ivs && normalize(ivs).map((iv) => intervalText(iv, String));
}

const sortedText = (right: Json, map: (e: Json) => string = stableJson) => elementsOf(right).map(map).sort();
// nft names protocol 0 `ip` (HOPOPT in /etc/protocols) when it lists `meta l4proto 0`.
const protoValue = (e: Json) => String(typeof e === "string" ? (e === "ip" ? 0 : (L4_NUMBERS[e] ?? e)) : e);
const icmpTypeValue = (e: Json) => String(typeof e === "string" ? (ICMP_TYPE_NUMBERS[e] ?? e) : e);
const numericOrder = (a: string, b: string) => Number(a) - Number(b) || (a < b ? -1 : a > b ? 1 : 0);

const l4 = (protocol: number): MatchAtom => ({ key: "meta l4proto", op: "==", values: [String(protocol)] });
const nfproto = (family: Family): MatchAtom => ({ key: "meta nfproto", op: "==", values: [`ipv${family}`] });

/** One `match` expression → its canonical atoms (the match itself plus the protocol it implies). */
function matchAtoms(m: JsonObject): MatchAtom[] {
  const { left, right } = m;
  const op = typeof m.op === "string" ? m.op : "==";
  const raw = (): MatchAtom[] => [{ key: stableJson(left), op, values: sortedText(right) }];
  if (!isObject(left)) return raw();
  if (isObject(left.meta) && typeof left.meta.key === "string") {
    const key = `meta ${left.meta.key}`;
    const values = left.meta.key === "l4proto" ? sortedText(right, protoValue) : sortedText(right, (e) => (typeof e === "string" ? e : stableJson(e)));
    return [{ key, op, values }];
  }
  if (isObject(left.ct) && left.ct.key === "state") {
    // One state: nft writes a bitmask test (`in`); a set of states is a lookup. Both test membership.
    return [{ key: "ct state", op: op === "in" ? "==" : op, values: sortedText(right, (e) => String(e)) }];
  }
  if (isObject(left.payload) && typeof left.payload.protocol === "string" && typeof left.payload.field === "string") {
    const { protocol, field } = left.payload;
    if ((protocol === "ip" || protocol === "ip6") && (field === "saddr" || field === "daddr")) {
      const family: Family = protocol === "ip" ? 4 : 6;
      // A named set (`@c0_v4`, port-map layout): compared by name; its elements are compared as the set's.
      if (typeof right === "string" && right.startsWith("@")) return [nfproto(family), { key: `${protocol} ${field}`, op, values: [right] }];
      const values = addressValues(family, right);
      return values ? [nfproto(family), { key: `${protocol} ${field}`, op, values }] : raw();
    }
    const implied = L4_NUMBERS[protocol];
    const deps = implied !== undefined ? [l4(implied)] : [];
    // `icmp checksum` / `icmpv6 checksum` are the bytes `th dport` reads (transport offset 2, length 2).
    const isPort = field === "dport" && (protocol === "th" || protocol === "tcp" || protocol === "udp");
    const isChecksumPort = field === "checksum" && (protocol === "icmp" || protocol === "icmpv6");
    if (isPort || isChecksumPort) {
      const values = portValues(right);
      return values ? [...deps, { key: "th dport", op, values }] : raw();
    }
    if (protocol === "icmp" && field === "type") {
      return [...deps, { key: "icmp type", op, values: elementsOf(right).map(icmpTypeValue).sort(numericOrder) }];
    }
    return [...deps, { key: `${protocol} ${field}`, op, values: sortedText(right) }];
  }
  return raw();
}

/** A statement (counter, limit, verdict, anything else) in canonical text. */
function statementText(e: JsonObject): string {
  const [kind] = Object.keys(e);
  const body = kind === undefined ? undefined : e[kind];
  switch (kind) {
    case "counter":
      return "counter";
    case "limit": {
      if (!isObject(body)) break;
      const packets = body.rate_unit === undefined || body.rate_unit === "packets";
      // nft's default burst is 5 packets (0 bytes); it is held in the kernel whether written or not.
      const burst = body.burst ?? (packets ? 5 : 0);
      return `limit ${body.inv === true ? "over " : ""}${String(body.rate)} ${packets ? "packets" : String(body.rate_unit)}/${String(body.per)} burst ${String(burst)}${
        packets ? "" : ` ${String(body.burst_unit ?? "bytes")}`
      }`;
    }
    case "accept":
    case "drop":
    case "return":
    case "continue":
      return kind;
    case "jump":
    case "goto":
      if (isObject(body) && typeof body.target === "string") return `${kind} ${body.target}`;
      break;
  }
  return stableJson(e);
}

const KEY_ORDER = ["meta iifname", "ct state", "meta l4proto", "meta nfproto", "ip saddr", "ip6 saddr", "ip daddr", "ip6 daddr", "th dport", "icmp type"];
const keyRank = (k: string) => {
  const i = KEY_ORDER.indexOf(k);
  return i < 0 ? KEY_ORDER.length : i;
};
const atomText = (a: MatchAtom) => `${a.key} ${a.op} {${a.values.join(",")}}`;

function canonicalSegment(atoms: readonly MatchAtom[], portStatement = false): string[] {
  const hasThPort = portStatement || atoms.some((a) => a.key === "th dport");
  // nft lists `meta l4proto 0 th dport …` as `th dport …`; the kernel has both (see header).
  const kept = atoms.filter((a) => !(hasThPort && a.key === "meta l4proto" && a.op === "==" && a.values.length === 1 && a.values[0] === "0"));
  const byText = new Map(kept.map((a) => [atomText(a), a]));
  return [...byText.entries()].sort(([ta, a], [tb, b]) => keyRank(a.key) - keyRank(b.key) || (ta < tb ? -1 : ta > tb ? 1 : 0)).map(([t]) => t);
}

/**
 * A verdict-map statement (`vmap`): its text names the key as a match would (`th dport`, `ip saddr`); the
 * protocol its key implies (`tcp dport` → l4proto 6) joins the matches before it, as for a match.
 */
function vmapStatement(v: JsonObject): { deps: MatchAtom[]; text: string } | null {
  if (typeof v.data !== "string") return null;
  const atoms = matchAtoms({ op: "==", left: v.key, right: { set: [] } });
  const key = atoms[atoms.length - 1]!;
  return { deps: atoms.slice(0, -1), text: `vmap ${key.key} ${v.data}` };
}

/** The canonical text of a rule given its `expr` array, from either side. */
export function canonicalRule(exprs: readonly Json[]): string {
  const parts: string[] = [];
  let segment: MatchAtom[] = [];
  for (const e of exprs) {
    if (isObject(e) && isObject(e.match)) {
      segment.push(...matchAtoms(e.match));
      continue;
    }
    const vmap = isObject(e) && isObject(e.vmap) ? vmapStatement(e.vmap) : null;
    if (vmap) {
      // The key is read like a port match: `meta l4proto 0` next to it is elided the same way.
      segment.push(...vmap.deps);
      parts.push(...canonicalSegment(segment, vmap.text.startsWith("vmap th dport")), vmap.text);
      segment = [];
      continue;
    }
    parts.push(...canonicalSegment(segment), isObject(e) ? statementText(e) : stableJson(e));
    segment = [];
  }
  parts.push(...canonicalSegment(segment));
  return parts.join(" ; ");
}

/** A named set or verdict map (port-map layout) as compared and shown: a header and its elements. */
export interface CanonicalSet {
  /** `set c0_v4 type ipv4_addr flags interval`, `map p6_dports type inet_service : verdict flags interval`. */
  readonly header: string;
  /** Elements merged into maximal intervals (per verdict for a map), sorted, in nft's spelling. */
  readonly elements: readonly string[];
}

const ADDR_TYPES: Record<string, Family> = { ipv4_addr: 4, ipv6_addr: 6 };

/** Interval of one element key (value, prefix, range) of a set of `type`; null when not understood. */
function keyInterval(type: string, e: Json): Interval | null {
  const family = ADDR_TYPES[type];
  const ivs = family !== undefined ? addressIntervals(family, { set: [e] }) : type === "inet_service" ? portIntervals({ set: [e] }) : null;
  return ivs?.length === 1 ? ivs[0]! : null;
}

function keyText(type: string, iv: Interval): string {
  const family = ADDR_TYPES[type];
  if (family === undefined) return intervalText(iv, String);
  if (iv.lo === iv.hi) return formatAddress(family, iv.lo);
  const len = rangeAsPrefixLength(family, iv.lo, iv.hi);
  return len === null ? `${formatAddress(family, iv.lo)}-${formatAddress(family, iv.hi)}` : `${formatAddress(family, iv.lo)}/${len}`;
}

/**
 * A set or map object from either side (the transaction's `add set`/`add map`, or `nft -j list`): its type,
 * flags and elements canonicalised, so element spelling (prefix, range, value) and order do not matter.
 * Other properties are kept verbatim in the header; null when the object is not an interval set or map
 * of addresses or ports.
 */
export function canonicalSet(kind: string, json: Json): CanonicalSet | null {
  const header = setHeader(kind, json);
  if (header === null || !isObject(json)) return null;
  const type = String(json.type);
  const raw = Array.isArray(json.elem) ? json.elem : [];
  const items: { iv: Interval; value: string }[] = [];
  for (const e of raw) {
    const [k, v] = kind === "map" ? (Array.isArray(e) && e.length === 2 ? e : [undefined, undefined]) : [e, ""];
    const iv = keyInterval(type, k);
    if (iv === null) return null;
    items.push({ iv, value: kind === "map" ? (isObject(v) ? statementText(v) : stableJson(v)) : "" });
  }
  items.sort((a, b) => (a.iv.lo < b.iv.lo ? -1 : a.iv.lo > b.iv.lo ? 1 : 0));
  const merged: { iv: Interval; value: string }[] = [];
  for (const it of items) {
    const last = merged[merged.length - 1];
    if (last && last.value === it.value && last.iv.hi + 1n >= it.iv.lo) {
      if (it.iv.hi > last.iv.hi) merged[merged.length - 1] = { iv: { lo: last.iv.lo, hi: it.iv.hi }, value: last.value };
    } else merged.push(it);
  }
  return { header, elements: merged.map((m) => `${keyText(type, m.iv)}${m.value ? ` : ${m.value}` : ""}`) };
}

/** A set's or map's canonical header (name, type, flags, any other property), or null when it is not one. */
export function setHeader(kind: string, json: Json): string | null {
  if (!isObject(json) || typeof json.type !== "string" || typeof json.name !== "string") return null;
  const flags = Array.isArray(json.flags) ? json.flags.map(String).sort() : typeof json.flags === "string" ? [json.flags] : [];
  const data = kind === "map" ? (typeof json.map === "string" ? json.map : null) : undefined;
  if (data === null) return null;
  const known = new Set(["family", "table", "name", "type", "flags", "map", "elem", "handle"]);
  const rest = Object.fromEntries(Object.entries(json).filter(([k]) => !known.has(k)));
  const extra = Object.keys(rest).length ? ` ${stableJson(rest)}` : "";
  return `${kind} ${json.name} type ${json.type}${data ? ` : ${data}` : ""}${flags.length ? ` flags ${flags.join(",")}` : ""}${extra}`;
}

/** One element of a set or map: its identity (key interval and, for a map, its verdict) and its JSON. */
export interface SetElement {
  /** `lo-hi` of the key, then ` : verdict` for a map element. */
  readonly id: string;
  /** The element as written in `add element` (a map element with its verdict). */
  readonly json: Json;
  /** The key alone, as written in `delete element`. */
  readonly key: Json;
}

/**
 * The elements of a set or map object from either side, unmerged (each as the kernel holds it), for
 * updating one into the other element by element; null when one is not understood.
 */
export function setElements(kind: string, json: Json): SetElement[] | null {
  if (!isObject(json) || typeof json.type !== "string") return null;
  const type = json.type;
  const out: SetElement[] = [];
  for (const e of Array.isArray(json.elem) ? json.elem : []) {
    const [k, v] = kind === "map" ? (Array.isArray(e) && e.length === 2 ? e : [undefined, undefined]) : [e, undefined];
    const iv = keyInterval(type, k);
    if (iv === null) return null;
    const value = kind === "map" ? ` : ${isObject(v) ? statementText(v) : stableJson(v)}` : "";
    out.push({ id: `${iv.lo}-${iv.hi}${value}`, json: e, key: k });
  }
  return out;
}
