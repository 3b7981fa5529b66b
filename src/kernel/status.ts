// `status`: the live table against the last applied state — presence, counters attributed to the
// documents that produced each kernel rule, drift, and other base chains that can still drop (§6).
import type { SourcePos } from "../config/diagnostics.js";
import { describeTarget, KernelError, nftErrorSummary, runIn, type Target } from "./exec.js";
import { align, unifiedDiff } from "./line-diff.js";
import { parseListing, ruleTextsByHandle, tableFromListing, tableFromTransaction, type ListedObject } from "./nft-listing.js";
import { otherBaseChains, type OtherBaseChain } from "./other-chains.js";
import type { AppliedState } from "./state.js";
import type { ConfirmedView, PendingTryView } from "./try-state.js";
import { expectedView, liveView, viewLines, viewsEqual, type RuleNote, type TableView } from "./table-view.js";

export interface RuleStatus {
  readonly chain: string;
  /** 1-based position in the chain. */
  readonly index: number;
  readonly text: string;
  /** The document (or built-in rule) that produced it; null when the rule is not part of the last apply. */
  readonly origin: string | null;
  readonly pos: SourcePos | null;
  readonly packets: number | null;
  readonly bytes: number | null;
}

export interface DocumentCounters {
  readonly origin: string;
  readonly pos: SourcePos | null;
  readonly kernelRules: number;
  readonly packets: number;
  readonly bytes: number;
}

export interface StatusReport {
  readonly target: string;
  readonly table: { readonly family: string; readonly name: string; readonly present: boolean };
  readonly state: {
    readonly file: string;
    readonly appliedAt: string;
    readonly profile: string;
    readonly layout: string;
    readonly inputs: readonly string[];
    readonly nodeAddresses: readonly string[] | null;
    readonly nodeAddressSource: string;
  } | null;
  /** Why the state could not be used (unreadable, invalid, for another table). */
  readonly stateProblem: string | null;
  readonly rules: readonly RuleStatus[];
  readonly documents: readonly DocumentCounters[];
  /** null without state; otherwise whether the live table differs from the last applied one, as a diff. */
  readonly drift: { readonly drifted: boolean; readonly diff: string } | null;
  readonly otherChains: readonly OtherBaseChain[];
  /** The last confirmed configuration (what a try rolls back to); null when nothing was confirmed. */
  readonly confirmed: ConfirmedView | null;
  /** The pending try, its rollback target, the time left and failed rollback attempts; null when none. */
  readonly pendingTry: PendingTryView | null;
}

export interface StatusInput {
  readonly target: Target;
  readonly family: string;
  readonly table: string;
  readonly listing: readonly ListedObject[];
  readonly ruleTexts: ReadonlyMap<number, string>;
  readonly state: AppliedState | null;
  readonly stateFile: string;
  readonly stateProblem: string | null;
  readonly confirmed?: ConfirmedView | null;
  readonly pendingTry?: PendingTryView | null;
}

function appliedView(state: AppliedState): TableView {
  const rs = state.ruleset;
  return expectedView(tableFromTransaction(rs.transaction, rs.family, rs.table), rs.chains);
}

/** Pure assembly of the report from a ruleset listing and the state. */
export function buildStatus(i: StatusInput): StatusReport {
  const raw = tableFromListing(i.listing, i.family, i.table);
  const live = raw ? liveView(raw, i.ruleTexts) : null;
  const forThisTable = i.state !== null && i.state.ruleset.table === i.table && i.state.ruleset.family === i.family;
  const state = forThisTable ? i.state : null;
  const stateProblem =
    i.stateProblem ?? (i.state && !forThisTable ? `the state in ${i.stateFile} is for table ${i.state.ruleset.family} ${i.state.ruleset.table}` : null);
  const applied = state ? appliedView(state) : null;

  // Attribute live rules to documents by aligning them with the last applied rules (canonical keys).
  const liveLines = viewLines(live);
  const appliedLines = viewLines(applied);
  const noteOf = new Map<number, RuleNote | undefined>();
  for (const s of align(
    liveLines.map((l) => l.key),
    appliedLines.map((l) => l.key),
  )) {
    if (s.op === "=" && liveLines[s.a!]!.rule) noteOf.set(s.a!, appliedLines[s.b!]!.rule?.note);
  }
  const rules: RuleStatus[] = [];
  const perChain = new Map<string, number>();
  liveLines.forEach((l, idx) => {
    if (!l.rule || l.chain === undefined) return;
    const index = (perChain.get(l.chain) ?? 0) + 1;
    perChain.set(l.chain, index);
    const note = noteOf.get(idx);
    rules.push({
      chain: l.chain,
      index,
      text: l.rule.text,
      origin: note?.origin ?? null,
      pos: note?.pos ?? null,
      packets: l.rule.packets ?? null,
      bytes: l.rule.bytes ?? null,
    });
  });

  const docs = new Map<string, DocumentCounters>();
  for (const r of rules) {
    if (r.origin === null) continue;
    const d = docs.get(r.origin) ?? { origin: r.origin, pos: r.pos, kernelRules: 0, packets: 0, bytes: 0 };
    docs.set(r.origin, { ...d, kernelRules: d.kernelRules + 1, packets: d.packets + (r.packets ?? 0), bytes: d.bytes + (r.bytes ?? 0) });
  }

  const drift = applied
    ? {
        drifted: !viewsEqual(live, applied),
        diff: unifiedDiff(appliedLines, liveLines, `last applied (${state!.appliedAt})`, `live (${describeTarget(i.target)})`),
      }
    : null;

  return {
    target: describeTarget(i.target),
    table: { family: i.family, name: i.table, present: raw !== null },
    state: state && {
      file: i.stateFile,
      appliedAt: state.appliedAt,
      profile: state.options.profile,
      layout: state.options.layout,
      inputs: state.inputs,
      nodeAddresses: state.options.nodeAddresses,
      nodeAddressSource: state.options.nodeAddressSource,
    },
    stateProblem,
    rules,
    documents: [...docs.values()],
    drift,
    otherChains: otherBaseChains(i.listing, { family: i.family, name: i.table }),
    confirmed: i.confirmed ?? null,
    pendingTry: i.pendingTry ?? null,
  };
}

/** The whole ruleset of the target (`nft -j list ruleset`) and nft's texts of our table's rules. */
export async function readRulesetForStatus(
  target: Target,
  family: string,
  table: string,
): Promise<{ listing: ListedObject[]; ruleTexts: Map<number, string> }> {
  const res = await runIn(target, "nft", ["-j", "list", "ruleset"]);
  if (res.code !== 0) throw new KernelError("failed", `cannot list the ruleset of ${describeTarget(target)}: ${nftErrorSummary(res.stderr)}`);
  const listing = parseListing(res.stdout);
  const text = await runIn(target, "nft", ["-a", "list", "table", family, table]);
  return { listing, ruleTexts: text.code === 0 ? ruleTextsByHandle(text.stdout) : new Map() };
}
