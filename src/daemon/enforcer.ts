// Keeps the kernel on the configuration the state directory says is active: the pending try's candidate,
// else the confirmed configuration, else nothing (no table is enforced). One `reconcile` reads that,
// compiles it when it is new or the node addresses may have changed (§5.10: the prerouting chain lists
// them), compares the live table with it and re-applies when they differ. So the same step does the boot
// apply, follows changes other processes make through the state directory (a guardian's rollback, a
// direct CLI apply), re-renders on address changes and repairs drift (the table changed or removed by
// someone else). It holds the state lock, so it never interleaves with another process's change.
import { join } from "node:path";
import { readTable, rulesetState, applyRuleset, type LiveTable } from "../kernel/apply.js";
import { stableJson } from "../kernel/canonical.js";
import { describeTarget, type Target } from "../kernel/exec.js";
import { lockHolder, STATE_LOCK_FILE, withStateLock } from "../kernel/lock.js";
import { ListingError, type RawTable } from "../kernel/nft-listing.js";
import { readConfirmed, type ConfigSnapshot } from "../kernel/state.js";
import { firstDifference, viewsEqual, type TableView } from "../kernel/table-view.js";
import { readPendingTry } from "../kernel/try-state.js";
import { formatAddress, type Address } from "../net/address.js";
import { optionsOf, prepareCandidate, recordApplied, snapshotOf, type Candidate } from "./apply-config.js";
import type { Logger } from "./log.js";

export type ActiveKind = "try" | "confirmed";

export type Desired = { readonly kind: ActiveKind; readonly snapshot: ConfigSnapshot } | { readonly kind: "none" };

/** What should be in the kernel according to the state directory. */
export function readDesired(stateDir: string): Desired {
  const pending = readPendingTry(stateDir);
  if (pending) return { kind: "try", snapshot: pending.candidate };
  const confirmed = readConfirmed(stateDir);
  return confirmed ? { kind: "confirmed", snapshot: confirmed.config } : { kind: "none" };
}

export const addressList = (a: readonly Address[] | null): string =>
  a === null ? "none (no prerouting chain)" : a.map((x) => formatAddress(x.family, x.value)).join(", ") || "none";

interface Active {
  readonly kind: ActiveKind;
  readonly fingerprint: string;
  readonly candidate: Candidate;
  readonly view: TableView;
  /** The table as the candidate's transaction builds it (what an in-place update starts from). */
  readonly table: RawTable;
  readonly since: string;
}

export interface ActiveView {
  readonly kind: ActiveKind;
  readonly inputs: readonly string[];
  readonly table: string;
  readonly profile: string;
  readonly layout: string;
  readonly nodeAddresses: readonly string[] | null;
  /** When the daemon last compiled and put this ruleset in place (or found it in place). */
  readonly since: string;
}

export interface EnforcerOptions {
  readonly target: Target;
  readonly stateDir: string;
  readonly log: Logger;
  /** How long a reconcile waits for another process holding the state lock (then the next one tries). */
  readonly lockWaitMs?: number;
}

/**
 * At most this share of one CPU goes to drift checks: a table that takes 400 ms to list and compare
 * (5000 documents) is checked every 8 s, one that takes 50 ms or less on every reconcile (1 s).
 */
export const DRIFT_CHECK_SHARE = 0.05;

export class Enforcer {
  private active: Active | null = null;
  private addressesMayHaveChanged = false;
  private lastProblem: string | null = null;
  private repairs = 0;
  private lastRepairAt: string | null = null;
  /** Reconciles before this time (ms since the epoch) skip the drift check of an unchanged candidate. */
  private nextDriftCheckAt = 0;
  /** Whether the table was last seen (or put) exactly as the active candidate builds it. */
  private inPlace = false;

  constructor(private readonly o: EnforcerOptions) {}

  /** The daemon itself just applied `candidate` (an apply or a try): it is the active configuration. */
  adopt(candidate: Candidate, kind: ActiveKind): void {
    const { view, raw } = rulesetState(candidate.ruleset);
    this.active = { kind, fingerprint: stableJson(snapshotOf(candidate)), candidate, view, table: raw, since: new Date().toISOString() };
    this.inPlace = true;
    // An update from knownTable() is not read back: the next reconcile compares the whole table.
    this.nextDriftCheckAt = 0;
  }

  /** The next reconcile recompiles with freshly discovered node addresses. */
  addressesChanged(): void {
    this.addressesMayHaveChanged = true;
  }

  /** Errors are logged (once until they change) and kept for the status; the next reconcile tries again. `boot` says so in the log. */
  async reconcile(boot = false): Promise<void> {
    // Another process is changing the target right now: look again at the next reconcile.
    if (!boot && lockHolder(join(this.o.stateDir, STATE_LOCK_FILE)) !== null) return;
    try {
      await withStateLock(this.o.stateDir, () => this.enforce(boot), this.o.lockWaitMs ?? 5000);
      if (this.lastProblem !== null) this.o.log.info("reconcile-recovered", `enforcing again in ${describeTarget(this.o.target)}`);
      this.lastProblem = null;
    } catch (e) {
      const message = (e as Error).message.replace(/\s*\n\s*/g, "; ");
      if (message !== this.lastProblem) this.o.log.error("reconcile-failed", message);
      this.lastProblem = message;
      this.inPlace = false;
    }
  }

  private async enforce(boot: boolean): Promise<void> {
    const { target, stateDir, log } = this.o;
    const desired = readDesired(stateDir);
    if (desired.kind === "none") {
      if (this.active || boot) log.info("nothing-to-enforce", `no confirmed configuration and no pending try in ${stateDir}: the table is left as it is`);
      this.active = null;
      return;
    }
    const fingerprint = stableJson(desired.snapshot);
    const previous = this.active?.fingerprint === fingerprint ? this.active : null;
    let candidate = previous?.candidate;
    const addressesMayHaveChanged = this.addressesMayHaveChanged;
    this.addressesMayHaveChanged = false;
    // Only discovered addresses follow the links; given ones (or none, without a prerouting chain) stay.
    if (!candidate || (addressesMayHaveChanged && candidate.nodeAddressSource === "discovered")) {
      const fresh = await prepareCandidate(target, desired.snapshot.sources, optionsOf(desired.snapshot));
      // Same configuration, same addresses: the same ruleset, nothing new to record.
      if (!candidate || addressList(fresh.nodeAddresses) !== addressList(candidate.nodeAddresses)) candidate = fresh;
    }
    const isNew = candidate !== previous?.candidate;
    const fresh = isNew ? rulesetState(candidate.ruleset) : null;
    const view = fresh ? fresh.view : previous!.view;
    const built = fresh ? fresh.raw : previous!.table;
    const table = `${candidate.ruleset.family} ${candidate.ruleset.table}`;

    // The drift check lists the whole table; a large one is checked less often (DRIFT_CHECK_SHARE).
    if (!boot && !isNew && previous && Date.now() < this.nextDriftCheckAt) return;
    let listed: LiveTable | null | undefined;
    const listingStarted = performance.now();
    try {
      listed = await readTable(target, candidate.ruleset.family, candidate.ruleset.table);
      this.nextDriftCheckAt = Date.now() + (performance.now() - listingStarted) / DRIFT_CHECK_SHARE;
    } catch (e) {
      if (!(e instanceof ListingError)) throw e;
      listed = undefined; // not listable as JSON: let the apply compare and decide
    }
    // A new candidate always goes through applyRuleset (a no-op when in place) so state.json records it.
    const live = listed === undefined ? undefined : (listed?.view ?? null);
    const result =
      isNew || live === undefined || !viewsEqual(live, view) ? await applyRuleset(target, candidate.ruleset, listed === undefined ? {} : { listed }) : null;
    if (result && (result.changed || isNew)) recordApplied(target, stateDir, candidate, result);
    const since = result?.changed || !previous ? new Date().toISOString() : previous.since;
    this.active = { kind: desired.kind, fingerprint, candidate, view, table: built, since };
    this.inPlace = true;

    const what = `the ${desired.kind === "try" ? "pending try's" : "confirmed"} configuration (${desired.snapshot.sources.map((s) => s.file).join(", ") || "no input"})`;
    const changed = Boolean(result?.changed);
    if (boot) {
      log.info("boot-applied", `${changed ? "applied" : "already in place:"} ${what} as table ${table} in ${describeTarget(target)}`, {
        nodeAddresses: addressList(candidate.nodeAddresses),
      });
    } else if (!previous) {
      log.info("state-changed", `now enforcing ${what}${changed ? ", applied" : ""}`);
    } else if (addressList(candidate.nodeAddresses) !== addressList(previous.candidate.nodeAddresses)) {
      log.info(
        "addresses-changed",
        `node addresses are now ${addressList(candidate.nodeAddresses)}: ${changed ? "prerouting chain re-rendered and applied" : "the table already matches"}`,
        {
          previous: addressList(previous.candidate.nodeAddresses),
        },
      );
    } else if (changed) {
      this.repairs++;
      this.lastRepairAt = new Date().toISOString();
      const how = live === null ? "was removed" : live === undefined ? "could not be listed" : `was changed (${firstDifference(live, view)})`;
      log.warn("drift-repaired", `table ${table} in ${describeTarget(target)} ${how}: re-applied ${what}`);
    }
  }

  /**
   * The table the kernel holds, as ingressfw built it, when the last reconcile found (or put) it in place:
   * an apply can update it in place without listing it or reading it back (applyRuleset's `known`). Drift
   * since then makes that update fail (the apply falls back to listing the table) or is found by the
   * drift check of the next reconcile, which adopt() makes due.
   */
  knownTable(): RawTable | null {
    return this.inPlace && this.active ? this.active.table : null;
  }

  view(): ActiveView | null {
    const a = this.active;
    if (!a) return null;
    const o = a.candidate.options;
    return {
      kind: a.kind,
      inputs: a.candidate.sources.map((s) => s.file),
      table: a.candidate.ruleset.table,
      profile: o.profile,
      layout: o.layout,
      nodeAddresses: a.candidate.nodeAddresses?.map((x) => formatAddress(x.family, x.value)) ?? null,
      since: a.since,
    };
  }

  stats(): { readonly driftRepairs: number; readonly lastDriftRepairAt: string | null; readonly problem: string | null } {
    return { driftRepairs: this.repairs, lastDriftRepairAt: this.lastRepairAt, problem: this.lastProblem };
  }
}
