// The two JSON spellings of a table — the transaction ingressfw sends and what `nft -j list` prints —
// read into one plain structure (chains, rules, other objects) so they can be canonicalised and compared.
import { z } from "zod";

type Json = unknown;

export interface RawChain {
  readonly name: string;
  /** Base chains only. */
  readonly type?: string;
  readonly hook?: string;
  readonly prio?: number;
  readonly policy?: string;
}

export interface RawRule {
  readonly chain: string;
  readonly expr: readonly Json[];
  readonly handle?: number;
  /** Counter values summed over the rule's `counter` statements; undefined when it has none. */
  readonly packets?: number;
  readonly bytes?: number;
}

/** The rules of each chain, in order, grouped in one pass (the port-map layout has thousands of chains). */
export function rulesByChain(rules: readonly RawRule[]): Map<string, RawRule[]> {
  const out = new Map<string, RawRule[]>();
  for (const r of rules) {
    const list = out.get(r.chain);
    if (list) list.push(r);
    else out.set(r.chain, [r]);
  }
  return out;
}

/** Anything else in the table: named sets and maps (port-map layout), named limits (drop logging), … */
export interface RawObject {
  readonly kind: string;
  readonly name: string;
  readonly json: Json;
}

export interface RawTable {
  readonly family: string;
  readonly name: string;
  readonly flags: readonly string[];
  readonly chains: readonly RawChain[];
  readonly rules: readonly RawRule[];
  readonly objects: readonly RawObject[];
}

const ListingSchema = z.object({ nftables: z.array(z.record(z.string(), z.unknown())) });
const TableSchema = z.object({ family: z.string(), name: z.string(), flags: z.union([z.string(), z.array(z.string())]).optional() });
const NamedSchema = z.object({ family: z.string(), table: z.string(), name: z.string() });

export type ListedObject = Record<string, Json>;

/**
 * `ingressfw trace` adds a short-lived base chain `trace-<pid>` to the table. It is not part of any
 * ruleset, so reading the table leaves it out: drift, read-back and diff do not see it.
 */
export const TRACE_CHAIN = /^trace-\d+$/;

export class ListingError extends Error {}

/** Parse `nft -j list …` output into its objects (metainfo, table, chain, rule, set, …). */
export function parseListing(stdout: string): ListedObject[] {
  let data: Json;
  try {
    data = JSON.parse(stdout);
  } catch (e) {
    throw new ListingError(`nft printed invalid JSON (${(e as Error).message}; it ends with ${JSON.stringify(stdout.trimEnd().slice(-40))})`);
  }
  const parsed = ListingSchema.safeParse(data);
  if (!parsed.success) throw new ListingError(`unexpected nft JSON: ${z.prettifyError(parsed.error)}`);
  return parsed.data.nftables;
}

function flagList(f: string | string[] | undefined): string[] {
  return f === undefined ? [] : (Array.isArray(f) ? f : [f]).slice().sort();
}

function counterTotals(expr: readonly Json[]): { packets?: number; bytes?: number } {
  let packets: number | undefined;
  let bytes: number | undefined;
  for (const e of expr) {
    const c = (e as { counter?: { packets?: unknown; bytes?: unknown } } | null)?.counter;
    if (c && typeof c.packets === "number" && typeof c.bytes === "number") {
      packets = (packets ?? 0) + c.packets;
      bytes = (bytes ?? 0) + c.bytes;
    }
  }
  return packets === undefined ? {} : { packets, bytes: bytes ?? 0 };
}

/**
 * A chain command's or listing's body, checked by hand like rules (a large table has thousands of
 * chains): family, table and name, and the base chain's properties when present.
 */
function chainIn(body: Json): InTable<RawChain> {
  const c = inTable(body, "name");
  const optional = (k: string, type: "string" | "number") => c?.[k] === undefined || typeof c[k] === type;
  if (!c || !optional("type", "string") || !optional("hook", "string") || !optional("prio", "number") || !optional("policy", "string")) {
    throw new ListingError(`unexpected nft JSON: a chain without family, table or name, or with odd properties: ${JSON.stringify(body).slice(0, 120)}`);
  }
  const { family, table, name, type, hook, prio, policy } = c as InTable<RawChain>;
  return { family, table, name, type, hook, prio, policy };
}

const withoutTable = ({ name, type, hook, prio, policy }: RawChain): RawChain => ({ name, type, hook, prio, policy });

/** A rule command's or listing's body, checked by hand: a large table lists tens of thousands of rules. */
function ruleIn(body: Json): InTable<RawRule> {
  const r = inTable(body, "chain");
  if (!r || !Array.isArray(r.expr) || (r.handle !== undefined && typeof r.handle !== "number")) {
    throw new ListingError(`unexpected nft JSON: a rule without family, table, chain or expr: ${JSON.stringify(body).slice(0, 120)}`);
  }
  return { family: r.family, table: r.table, chain: r.chain, expr: r.expr as Json[], handle: r.handle as number | undefined };
}

/** The named table out of a listing (of that table or of the whole ruleset); null when it is absent. */
export function tableFromListing(objects: readonly ListedObject[], family: string, name: string): RawTable | null {
  let found: RawTable | null = null;
  const chains: RawChain[] = [];
  const rules: RawRule[] = [];
  const others: RawObject[] = [];
  const ours = (o: { family: string; table: string }) => o.family === family && o.table === name;
  for (const obj of objects) {
    const [kind] = Object.keys(obj);
    if (kind === undefined || kind === "metainfo") continue;
    const body = obj[kind];
    if (kind === "table") {
      const t = TableSchema.parse(body);
      if (t.family === family && t.name === name) found = { family, name, flags: flagList(t.flags), chains, rules, objects: others };
    } else if (kind === "chain") {
      const c = chainIn(body);
      if (ours(c) && !TRACE_CHAIN.test(c.name)) chains.push(withoutTable(c));
    } else if (kind === "rule") {
      const r = ruleIn(body);
      if (ours(r) && !TRACE_CHAIN.test(r.chain)) rules.push({ chain: r.chain, expr: r.expr, handle: r.handle, ...counterTotals(r.expr) });
    } else {
      const n = NamedSchema.safeParse(body);
      if (n.success && ours(n.data)) {
        // the handle changes whenever the object is re-created; it is not part of what it is
        const json = Object.fromEntries(Object.entries(body as Record<string, Json>).filter(([k]) => k !== "handle"));
        others.push({ kind, name: n.data.name, json });
      }
    }
  }
  return found;
}

/** A chain or rule together with the table it lives in. */
export type InTable<T> = T & { readonly family: string; readonly table: string };

/** Every chain and rule of a ruleset listing, of all tables. */
export function chainsFromListing(objects: readonly ListedObject[]): { chains: InTable<RawChain>[]; rules: InTable<RawRule>[] } {
  const chains: InTable<RawChain>[] = [];
  const rules: InTable<RawRule>[] = [];
  for (const obj of objects) {
    if ("chain" in obj) {
      chains.push(chainIn(obj.chain));
    } else if ("rule" in obj) {
      rules.push(ruleIn(obj.rule));
    }
  }
  return { chains, rules };
}

/** A command body with the fields every object of a table has (family, table) plus `key`, or null. */
function inTable<K extends string>(body: Json, key: K): (Record<K, string> & { family: string; table: string } & Record<string, Json>) | null {
  const b = body as Record<string, Json> | null;
  return b && typeof b === "object" && typeof b.family === "string" && typeof b.table === "string" && typeof b[key] === "string"
    ? (b as Record<K, string> & { family: string; table: string } & Record<string, Json>)
    : null;
}

/**
 * The table a transaction leaves behind, assuming it starts by deleting the table (as ingressfw's
 * does): `add`s accumulate, `delete table` clears. Checked by hand rather than with zod: it reads
 * ingressfw's own transactions, thousands of commands on every apply.
 */
export function tableFromTransaction(tx: { readonly nftables: readonly Json[] }, family: string, name: string): RawTable {
  let chains: RawChain[] = [];
  let rules: RawRule[] = [];
  let objects: RawObject[] = [];
  const unsupported = (cmd: Json) => new ListingError(`unsupported command in transaction: ${JSON.stringify(cmd).slice(0, 120)}`);
  const ours = (o: { family: string; table: string }) => o.family === family && o.table === name;
  for (const cmd of tx.nftables) {
    const c = cmd as Record<string, Record<string, Json> | undefined>;
    const add = c.add;
    if (c.delete?.table !== undefined) {
      chains = [];
      rules = [];
      objects = [];
    } else if (add?.table !== undefined) {
      continue;
    } else if (add?.chain !== undefined) {
      const ch = chainIn(add.chain);
      if (ours(ch)) chains.push(withoutTable(ch));
    } else if (add?.rule !== undefined) {
      const r = ruleIn(add.rule);
      if (ours(r)) rules.push({ chain: r.chain, expr: r.expr });
    } else if (add?.set !== undefined || add?.map !== undefined || add?.limit !== undefined) {
      // Named sets and verdict maps (port-map layout), compared through canonicalSet; named limits (drop
      // logging), in the shape `nft -j list` prints them (less the handle).
      const kind = add.set !== undefined ? "set" : add.map !== undefined ? "map" : "limit";
      const body = add[kind];
      const n = inTable(body, "name");
      if (!n) throw unsupported(cmd);
      if (ours(n)) objects.push({ kind, name: n.name, json: body });
    } else {
      throw unsupported(cmd);
    }
  }
  return { family, name, flags: [], chains, rules, objects };
}

/** Rule texts by handle from `nft -a list table …`, counters written as plain `counter`. */
export function ruleTextsByHandle(listing: string): Map<number, string> {
  const texts = new Map<number, string>();
  for (const line of listing.split("\n")) {
    const m = /^\s*(.*\S)\s+# handle (\d+)$/.exec(line);
    // Table, chain and set lines open a block (`chain ingress { # handle 1`): not rules.
    if (!m || m[1]!.endsWith("{")) continue;
    texts.set(Number(m[2]), m[1]!.replace(/counter packets \d+ bytes \d+/g, "counter"));
  }
  return texts;
}
