// Listing comparison (semantics §1.5) and loading rulesets into throwaway namespaces to list them.
// The normalisation also absorbs what nft 1.0.6 prints differently from the documented listings,
// so a listing from the kernel, from Talos's documentation and from `renderText` compare equal.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { renderJson } from "../../src/compile/nft-json.js";
import { renderText } from "../../src/compile/nft-text.js";
import type { Ruleset } from "../../src/compile/ruleset.js";
import { createNetns, deleteNetns, inNetns } from "./netns.js";

/** Whitespace only: every line trimmed, runs of blanks collapsed to one space, blank lines dropped. */
export function collapseWhitespace(text: string): string {
  return text
    .split("\n")
    .map((line) => line.replace(/\s+/g, " ").trim())
    .filter((line) => line !== "")
    .join("\n");
}

// Sets whose elements are names: Talos's own listing and nft's order them differently (§1.5).
const NAME_SET_OWNERS = /(?:^|\s)(?:iifname|oifname|ct state)(?: !=)?$/;

/** Inline sets `{ a, b }`: name sets sorted, then a one-element set written bare, as nft 1.0.6 lists it. */
function normalizeSets(line: string): string {
  return line.replace(/\{ ([^{}]*?) \}/g, (whole: string, body: string, offset: number) => {
    let items = body.split(", ");
    if (NAME_SET_OWNERS.test(line.slice(0, offset).trimEnd())) items = [...items].sort();
    return items.length === 1 ? items[0]! : `{ ${items.join(", ")} }`;
  });
}

/**
 * §1.5 normalisation plus nft 1.0.6's listing quirks: whitespace collapsed, counters without values,
 * handles dropped, name sets sorted, one-element sets unbraced, the default packet burst (5) omitted.
 */
export function normalizeListing(text: string): string {
  return collapseWhitespace(text.replace(/\s*# handle \d+/g, ""))
    .split("\n")
    .map((line) =>
      normalizeSets(line.replace(/\bcounter packets \d+ bytes \d+/g, "counter").replace(/\blimit rate (\d+\/\w+) burst 5 packets\b/g, "limit rate $1")),
    )
    .join("\n");
}

export type LoadFormat = "text" | "json";

/**
 * `nft ARGS… -f FILE` in a namespace with `content` in a temporary file; returns stdout. A file, not
 * stdin: Node gives a child a socket as stdin, and nft 1.0.6 cannot open that as `-j -f -` (ENXIO).
 */
export function nftFromFile(netns: string, args: readonly string[], content: string): string {
  const dir = mkdtempSync(join(tmpdir(), "gold-"));
  try {
    const file = join(dir, "ruleset");
    writeFileSync(file, content);
    return inNetns(netns, "nft", [...args, "-f", file]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Load a ruleset into a namespace: `nft -f` for the text form, `nft -j -f` for a JSON transaction. */
export function loadRuleset(netns: string, ruleset: string, format: LoadFormat): void {
  nftFromFile(netns, format === "json" ? ["-j"] : [], ruleset);
}

/** `nft list table inet <table>` in a namespace. */
export function listTable(netns: string, table: string): string {
  return inNetns(netns, "nft", ["list", "table", "inet", table]);
}

let freshCount = 0;

/** Load a ruleset into a namespace created for it, list the table, and delete the namespace again. */
export function listFresh(ruleset: string, format: LoadFormat, table = "talos"): string {
  const netns = createNetns(`gld${freshCount++}`);
  try {
    loadRuleset(netns, ruleset, format);
    return listTable(netns, table);
  } finally {
    deleteNetns(netns);
  }
}

/**
 * The kernel check of a listing-form gold case: the gold text, the rendered text (`nft -f`) and the
 * rendered JSON transaction (`nft -j -f`), each loaded into its own fresh namespace, list the same
 * after normalisation — and the gold text itself normalises to what the kernel lists for it.
 */
export function assertKernelMatchesGold(rs: Ruleset, gold: string): void {
  const listedGold = normalizeListing(listFresh(gold, "text", rs.table));
  assert.equal(listedGold, normalizeListing(gold), "the gold listing, loaded and listed, normalises to itself");
  assert.equal(normalizeListing(listFresh(renderText(rs), "text", rs.table)), listedGold, "renderText loaded with nft -f");
  assert.equal(normalizeListing(listFresh(JSON.stringify(renderJson(rs)), "json", rs.table)), listedGold, "renderJson loaded with nft -j -f");
}

/** What `nft --debug=netlink` printed for one rule: its expressions, `[ … ]` brackets removed. */
export type NetlinkRule = string[];

/** The rules in `nft --debug=netlink` output, in order; set names print as `__set%d` while adding. */
export function netlinkRules(debugOutput: string): NetlinkRule[] {
  const rules: NetlinkRule[] = [];
  let current: NetlinkRule | null = null;
  for (const line of debugOutput.split("\n")) {
    if (/^inet \S+ \S+/.test(line)) {
      current = [];
      rules.push(current);
      continue;
    }
    const expr = /^\s+\[ (.*) \]$/.exec(line);
    if (expr && current) current.push(expr[1]!);
  }
  return rules.filter((r) => r.length > 0);
}

/** One set element as `nft --debug=netlink` prints it: the key bytes (network order) and the interval-end flag. */
export interface NetlinkElement {
  readonly key: bigint;
  readonly end: boolean;
}

/**
 * The elements of every set in `nft --debug=netlink` output, one list per set. nft prints each 4-byte
 * word of a key as a host-order (little-endian) u32; keyBytes says how many leading bytes are the key.
 */
export function netlinkSetElements(debugOutput: string, keyBytes: number): NetlinkElement[][] {
  const sets: NetlinkElement[][] = [];
  for (const line of debugOutput.split("\n")) {
    if (!line.startsWith("\telement ")) continue;
    const elements: NetlinkElement[] = [];
    for (const m of line.matchAll(/element ((?:[0-9a-f]{8} )+) *: (\d+) \[end\]/g)) {
      const bytes = m[1]!
        .trim()
        .split(" ")
        .flatMap((word) => {
          const w = parseInt(word, 16);
          return [w & 0xff, (w >>> 8) & 0xff, (w >>> 16) & 0xff, w >>> 24];
        });
      const key = bytes.slice(0, keyBytes).reduce((acc, b) => (acc << 8n) | BigInt(b), 0n);
      elements.push({ key, end: (Number(m[2]) & 1) === 1 });
    }
    sets.push(elements);
  }
  return sets;
}
