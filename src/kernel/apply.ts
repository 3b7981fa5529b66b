// Apply a compiled ruleset to a target as one nftables transaction, verified by reading it back.
// Only ingressfw's own table is touched: the transaction adds, deletes and re-adds that table; it never
// flushes the ruleset. When the live table already equals the ruleset nothing is sent (counters kept).
import { performance } from "node:perf_hooks";
import { originLabel } from "../compile/ir.js";
import { renderJson } from "../compile/nft-json.js";
import type { Ruleset } from "../compile/ruleset.js";
import { describeTarget, KernelError, nftErrorSummary, runIn, type Target } from "./exec.js";
import { ListingError, parseListing, ruleTextsByHandle, tableFromListing, tableFromTransaction, type RawTable } from "./nft-listing.js";
import { expectedView, firstDifference, liveView, rulesetNotes, viewsEqual, type TableState, type TableView } from "./table-view.js";
import { planUpdate, viewSide, writtenSide, type UpdatePlan } from "./update-plan.js";

export interface ApplyResult {
  /** false when the live table already equalled the ruleset (nothing sent; counters kept). */
  readonly changed: boolean;
  /** Present when the table was changed in place rather than rebuilt: what the one transaction touched. */
  readonly update?: { readonly commands: number; readonly chains: number; readonly sets: number };
  readonly durationMs: number;
  /** `inet talos` */
  readonly table: string;
  /** The base chains. */
  readonly chains: readonly { readonly name: string; readonly rules: number }[];
  /** Regular chains (port-map layout: one per document, overlap and protocol-0 dispatch). */
  readonly regularChains: number;
  /** Rules in all chains. */
  readonly ruleCount: number;
}

export type LiveTable = TableState;

export interface ApplyOptions {
  /**
   * The table the caller knows the kernel holds, as ingressfw's transaction built it (rulesetTable of
   * the last ruleset it applied and verified, with no drift seen since). The table is then neither
   * listed first nor read back after an in-place update: nft 1.0.6 fills its cache with the whole
   * table for any listing, even of one chain (~80 ms at 5000 documents), so the caller compares the
   * whole table soon after instead (the daemon's next drift check). The transaction is atomic and
   * refills every chain it touches, so only a change someone made elsewhere can survive it, which is
   * what the drift check is for. Should the kernel hold something else where the update deletes, the
   * update is refused and the apply starts over from a full listing.
   */
  readonly known?: RawTable | null;
  /** The table as the caller has just listed it (null: absent), used instead of listing it again. */
  readonly listed?: LiveTable | null;
}

type Transaction = { readonly nftables: readonly unknown[] };

/** The table as the kernel holds it, or null when it does not exist. `withText` adds nft's rule texts. */
export async function readTable(target: Target, family: string, name: string, opts: { withText?: boolean } = {}): Promise<LiveTable | null> {
  const res = await runIn(target, "nft", ["-j", "list", "table", family, name]);
  if (res.code !== 0) {
    if (/No such file or directory/.test(res.stderr)) return null;
    throw new KernelError("failed", `cannot list table ${family} ${name} in ${describeTarget(target)}: ${nftErrorSummary(res.stderr)}`);
  }
  const raw = tableFromListing(parseListing(res.stdout), family, name);
  if (!raw) return null;
  let texts = new Map<number, string>();
  if (opts.withText) {
    const text = await runIn(target, "nft", ["-a", "list", "table", family, name]);
    if (text.code === 0) texts = ruleTextsByHandle(text.stdout);
  }
  return { raw, view: liveView(raw, texts) };
}

/** The view the ruleset's transaction (`tx`, rendered when not given) produces, rules annotated with their origins. */
export function rulesetView(rs: Ruleset, tx: Transaction = renderJson(rs) as Transaction): TableView {
  return rulesetState(rs, tx).view;
}

/** The table the ruleset's transaction builds, as read and as compared. */
export function rulesetState(rs: Ruleset, tx: Transaction = renderJson(rs) as Transaction): TableState {
  const raw = rulesetTable(rs, tx);
  return { raw, view: expectedView(raw, rulesetNotes(rs)) };
}

/** The table the ruleset's transaction builds (what `known` of applyRuleset wants). */
export function rulesetTable(rs: Ruleset, tx: Transaction = renderJson(rs) as Transaction): RawTable {
  return tableFromTransaction(tx, rs.family, rs.table);
}

/** One command per line, for whoever reads it while debugging. */
function transactionText(cmds: readonly unknown[]): string {
  return `{"nftables": [\n${cmds.map((c) => JSON.stringify(c)).join(",\n")}\n]}\n`;
}

/** Whether the first `count` commands pass `nft --check` (the kernel validates them, then aborts). */
async function prefixPasses(target: Target, cmds: readonly unknown[], count: number): Promise<boolean> {
  const res = await runIn(target, "nft", ["-c", "-j", "-f", "-"], transactionText(cmds.slice(0, count)));
  return res.code === 0;
}

/**
 * The index of the command the kernel refuses. nft 1.0.6 reports errors in JSON input without a
 * location (`internal:0:0-0`), so bisect over prefixes with `nft --check`; null if not reproducible.
 */
async function locateRejectedCommand(target: Target, cmds: readonly unknown[]): Promise<number | null> {
  if (await prefixPasses(target, cmds, cmds.length)) return null;
  let lo = 0;
  let hi = cmds.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (await prefixPasses(target, cmds, mid + 1)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** What command `index` of the ruleset's transaction does, naming the document behind a rule. */
export function describeCommand(rs: Ruleset, cmds: readonly unknown[], index: number): string {
  const cmd = cmds[index] as { add?: { chain?: { name: string }; rule?: { chain: string }; set?: { name: string }; map?: { name: string } } };
  if (cmd.add?.chain) return `creating chain ${cmd.add.chain.name}`;
  if (cmd.add?.set) return `creating set ${cmd.add.set.name}`;
  if (cmd.add?.map) return `creating map ${cmd.add.map.name}`;
  const rule = cmd.add?.rule;
  if (!rule) return `replacing table ${rs.family} ${rs.table}`;
  const position = cmds.slice(0, index).filter((c) => (c as typeof cmd).add?.rule?.chain === rule.chain).length;
  const origin = [...rs.chains, ...(rs.regularChains ?? [])].find((c) => c.name === rule.chain)?.rules[position]?.origin;
  const where = `rule ${position + 1} of chain ${rule.chain}`;
  if (!origin) return where;
  if (origin.kind === "builtin") return `${where}, the built-in ${origin.id} rule`;
  return `${where}, from ${originLabel(origin)} at ${origin.pos.file}:${origin.pos.line}:${origin.pos.col}`;
}

async function send(target: Target, rs: Ruleset, tx: Transaction): Promise<void> {
  const res = await runIn(target, "nft", ["-j", "-f", "-"], transactionText(tx.nftables));
  if (res.code === 0) return;
  const index = await locateRejectedCommand(target, tx.nftables);
  const where = index === null ? "" : ` (${describeCommand(rs, tx.nftables, index)})`;
  throw new KernelError(
    "rejected",
    `the kernel rejected the ruleset for ${describeTarget(target)}: ${nftErrorSummary(res.stderr)}${where}; table ${rs.family} ${rs.table} is unchanged`,
  );
}

const updateSummary = (plan: UpdatePlan) => ({
  commands: plan.commands.length,
  chains: plan.chains.length + plan.removedChains.length,
  sets: plan.objects.length + plan.removedObjects.length,
});

/**
 * Whether an in-place update beats rebuilding: not when it re-adds most of the table's rules (a per-rule
 * table has one chain, so any change refills all of it, and adding rules to a table that already holds
 * thousands of anonymous sets is slower than building it afresh).
 */
const worthUpdating = (plan: UpdatePlan, next: RawTable) => {
  const readded = plan.commands.filter((c) => (c as { add?: { rule?: unknown } }).add?.rule !== undefined).length;
  return readded * 2 <= next.rules.length || readded <= SMALL_REFILL;
};
/** Refilling this many rules costs little whatever the table. */
const SMALL_REFILL = 50;

const sendUpdate = async (target: Target, plan: UpdatePlan) => (await runIn(target, "nft", ["-j", "-f", "-"], transactionText(plan.commands))).code === 0;

/**
 * Make the target's table equal the ruleset in one transaction: nothing when it already is; an in-place
 * update when only chains' rules and set or map elements differ (untouched chains keep their counters);
 * else delete and re-add the whole table. Verified by reading the table back (except an update from
 * `known`, see ApplyOptions).
 */
export async function applyRuleset(target: Target, ruleset: Ruleset, opts: ApplyOptions = {}): Promise<ApplyResult> {
  const started = performance.now();
  const tx = renderJson(ruleset) as Transaction;
  const next = tableFromTransaction(tx, ruleset.family, ruleset.table);
  const summary = {
    table: `${ruleset.family} ${ruleset.table}`,
    chains: ruleset.chains.map((c) => ({ name: c.name, rules: c.rules.length })),
    regularChains: ruleset.regularChains?.length ?? 0,
    ruleCount: [...ruleset.chains, ...(ruleset.regularChains ?? [])].reduce((n, c) => n + c.rules.length, 0),
  };
  const done = (changed: boolean, plan?: UpdatePlan | null): ApplyResult => ({
    changed,
    ...(plan ? { update: updateSummary(plan) } : {}),
    durationMs: performance.now() - started,
    ...summary,
  });

  if (opts.known) {
    const plan = planUpdate(writtenSide(opts.known), writtenSide(next));
    if (plan?.commands.length === 0) return done(false);
    if (plan && worthUpdating(plan, next) && (await sendUpdate(target, plan))) return done(true, plan);
    // A structural change, or the kernel did not hold the known table (the update was refused): go by what it holds.
  }

  // The comparison only saves a transaction: when nft cannot print the live table as JSON (nft 1.0.6
  // truncates a table with `flags owner`), send anyway and let the kernel decide.
  const listing =
    opts.listed !== undefined
      ? opts.listed
      : readTable(target, ruleset.family, ruleset.table).catch((e: unknown) => {
          if (e instanceof ListingError) return null;
          throw e;
        });
  // Computed while nft lists the table (~0.2 s each at 5000 documents). Rule texts are left out of the
  // expected view: it is only compared (a mismatch names the canonical rule).
  const expected = expectedView(next, []);
  const before = await listing;
  if (before && viewsEqual(before.view, expected)) return done(false);
  const plan = before ? planUpdate(viewSide(before.raw, before.view), viewSide(next, expected)) : null;
  // An update the kernel refuses falls back to the rebuild, whose refusal names the command.
  const updated = plan !== null && worthUpdating(plan, next) && (await sendUpdate(target, plan));
  if (!updated) await send(target, ruleset, tx);
  const after = await readTable(target, ruleset.family, ruleset.table);
  if (!viewsEqual(after?.view ?? null, expected)) {
    throw new KernelError(
      "mismatch",
      `table ${summary.table} read back from ${describeTarget(target)} differs from what was applied: ${firstDifference(after?.view ?? null, expected)}`,
    );
  }
  return done(true, updated ? plan : null);
}

/** Delete the table (explicit user action); false when it did not exist. */
export async function removeTable(target: Target, table: string): Promise<boolean> {
  const res = await runIn(target, "nft", ["delete", "table", "inet", table]);
  if (res.code === 0) return true;
  if (/No such file or directory/.test(res.stderr)) return false;
  throw new KernelError("rejected", `cannot delete table inet ${table} in ${describeTarget(target)}: ${nftErrorSummary(res.stderr)}`);
}
