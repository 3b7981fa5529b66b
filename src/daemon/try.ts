// Try mode (semantics §7, D5): apply a candidate now and roll back to the last confirmed configuration
// unless it is confirmed before an absolute deadline. Everything lives in the target's state directory,
// so the rollback never depends on the process that started the try:
//   confirmed.json    the last confirmed configuration (sources + options; a plain apply or confirm writes it)
//   pending-try.json  deadline, candidate, rollback target (= the last confirmed state), attempts, last error
//   state.json        what is applied now (the candidate during a try)
//   lock / guard.pid  the state lock every change holds; the guardian's own lock
//
// API (all take the target and its state directory; all changes hold the state lock):
//   startTry(opts)                         apply the candidate as a try. A try inside the window replaces the
//                                          candidate and restarts the timer; the rollback target stays the
//                                          last confirmed state. `guardian` names the CLI to spawn a detached
//                                          guardian with, or null when the caller (the daemon) owns the
//                                          rollback — it then calls resolveOverdueTry at rollbackDueAt(pending).
//   confirmTry(target, stateDir)           keep the candidate: persist it as confirmed, cancel the rollback.
//   rollbackNow(target, stateDir)          roll back at once (a failure is recorded and retried later).
//   resolveOverdueTry(target, stateDir)    roll back when the deadline (or the next retry after a failure)
//                                          has passed; otherwise report what is pending. Every command that
//                                          touches a target and the daemon on start call it.
//   readPendingTry(stateDir)               the pending try, or null.
//   ensureGuardian(command, target, dir)   a detached guardian for a pending try unless one is running.
// A plain apply during the window confirms its own configuration: applyConfirmed in ./apply-config.ts.
//
// Rollback (§7.2): re-apply the confirmed configuration, recompiled with the node addresses current at
// that moment, and remove any other table a try created. When nothing was ever confirmed the
// configuration active before the try is "no ingressfw table", so the rollback removes the table.
import { spawn } from "node:child_process";
import { closeSync, openSync, statSync } from "node:fs";
import { join } from "node:path";
import { applyRuleset, removeTable } from "../kernel/apply.js";
import { KernelError, type Target } from "../kernel/exec.js";
import { GUARDIAN_LOCK_FILE, lockHolder, withStateLock } from "../kernel/lock.js";
import { readConfirmed, removeState, writeConfirmed, type ConfirmedState } from "../kernel/state.js";
import { readPendingTry, removePendingTry, rollbackDueAt, writePendingTry, type PendingTry } from "../kernel/try-state.js";
import { applyCandidate, confirmedOf, optionsOf, prepareCandidate, recordApplied, snapshotOf, type Applied, type Candidate } from "./apply-config.js";
import { durationMs, formatGoDuration } from "./go-duration.js";

export { readPendingTry, rollbackDueAt, type PendingTry };

/** The guardian's output, appended; truncated before a spawn once it exceeds GUARD_LOG_MAX bytes. */
export const GUARD_LOG_FILE = "guard.log";
const GUARD_LOG_MAX = 1 << 20;

export class TryError extends Error {
  constructor(
    /** none: no try is pending; expired: its deadline has passed (it is being rolled back); timeout: not positive. */
    readonly kind: "none" | "expired" | "timeout",
    message: string,
  ) {
    super(message);
  }
}

export interface TryContext {
  /** The current time (tests); default the clock. */
  readonly now?: () => Date;
  /** Progress lines (§7.2 wording: `rolling back the configuration`, `config rollback failed <err>`). */
  readonly log?: (line: string) => void;
}

const clock = (ctx: TryContext) => (ctx.now ? ctx.now() : new Date());
const where = (target: Target) => (target.netns ? `network namespace ${JSON.stringify(target.netns)}` : "the host");

/** Delay before rollback attempt n+1 after n failures: 1 s, 2 s, 4 s … at most 60 s. */
export function rollbackBackoffMs(failures: number): number {
  return Math.min(1000 * 2 ** Math.max(0, failures - 1), 60_000);
}

export interface StartTryOptions extends TryContext {
  readonly target: Target;
  readonly stateDir: string;
  readonly candidate: Candidate;
  /** Nanoseconds (parseGoDuration); must be positive. */
  readonly timeout: bigint;
  /**
   * The command that runs the ingressfw CLI (`[node, ...execArgv, bin.js]`), to spawn a detached
   * guardian (`… guard --state-dir DIR [--netns N]`); null when the caller owns the rollback (daemon).
   */
  readonly guardian: readonly string[] | null;
}

export interface StartedTry {
  readonly applied: Applied;
  readonly pending: PendingTry;
  /** The try this one replaced (a second try inside the window). */
  readonly replaced: PendingTry | null;
  /** The guardian watching the deadline; null when the caller owns the rollback. */
  readonly guardianPid: number | null;
}

/**
 * Apply `candidate` as a try (§7.1). The pending try is persisted and its owner started before the
 * kernel is touched, so no moment exists where the candidate is live without a rollback scheduled. A
 * rejected apply restores the previous pending try (or none): it schedules and changes nothing.
 */
export function startTry(opts: StartTryOptions): Promise<StartedTry> {
  if (opts.timeout <= 0n) return Promise.reject(new TryError("timeout", `the try timeout must be positive, not ${formatGoDuration(opts.timeout)}`));
  const { target, stateDir, candidate } = opts;
  return withStateLock(stateDir, async () => {
    const now = clock(opts);
    const replaced = readPendingTry(stateDir);
    const rollbackTarget = replaced ? replaced.rollbackTarget : readConfirmed(stateDir);
    const table = candidate.ruleset.table;
    const pending: PendingTry = {
      version: 1,
      target: { netns: target.netns ?? null },
      startedAt: now.toISOString(),
      deadline: new Date(now.getTime() + durationMs(opts.timeout)).toISOString(),
      timeout: formatGoDuration(opts.timeout),
      candidate: snapshotOf(candidate),
      rollbackTarget,
      tables: [...new Set([...(replaced?.tables ?? []), table])],
      rollback: { attempts: 0, lastError: null, lastAttemptAt: null, nextAttemptAt: null },
    };
    writePendingTry(stateDir, pending);
    let guardianPid: number | null = null;
    let result;
    try {
      if (opts.guardian) guardianPid = ensureGuardian(opts.guardian, target, stateDir);
      result = await applyRuleset(target, candidate.ruleset);
    } catch (e) {
      // A read-back mismatch means the kernel did change: keep the try so that it is rolled back.
      if (!(e instanceof KernelError && e.kind === "mismatch")) {
        if (replaced) writePendingTry(stateDir, replaced);
        else removePendingTry(stateDir);
      }
      throw e;
    }
    // From here on the candidate is live: a failure to record it leaves the try pending (rolled back).
    const applied = { result, candidate, stateFile: recordApplied(target, stateDir, candidate, result) };
    return { applied, pending, replaced, guardianPid };
  });
}

/** Keep the tried configuration (§7.3): persist it as confirmed and cancel the rollback. */
export function confirmTry(target: Target, stateDir: string, ctx: TryContext = {}): Promise<{ confirmed: ConfirmedState; pending: PendingTry }> {
  return withStateLock(stateDir, () => {
    const now = clock(ctx);
    const pending = readPendingTry(stateDir);
    if (!pending) throw new TryError("none", `no try is pending in ${where(target)}: nothing to confirm (an expired try has been rolled back)`);
    if (now.getTime() >= Date.parse(pending.deadline)) {
      throw new TryError("expired", `the try in ${where(target)} expired at ${pending.deadline}: it is rolled back, not confirmed`);
    }
    const confirmed = confirmedOf(target, pending.candidate, now);
    writeConfirmed(stateDir, confirmed);
    removePendingTry(stateDir);
    return { confirmed, pending };
  });
}

export type RollbackOutcome =
  | {
      readonly kind: "rolled-back";
      readonly pending: PendingTry;
      /** The confirmed configuration now applied; null: nothing was confirmed, the tables were removed. */
      readonly restored: ConfirmedState | null;
      readonly applied: Applied | null;
      /** Tables removed because the restored configuration does not use them. */
      readonly removedTables: readonly string[];
    }
  | {
      readonly kind: "failed";
      /** The pending try with this attempt recorded (attempts, lastError, nextAttemptAt). */
      readonly pending: PendingTry;
      readonly error: string;
    };

export type OverdueOutcome =
  | { readonly kind: "none" }
  /** Pending, before its deadline. */
  | { readonly kind: "pending"; readonly pending: PendingTry }
  /** Past its deadline, a failed rollback waits for its next attempt. */
  | { readonly kind: "backoff"; readonly pending: PendingTry }
  | RollbackOutcome;

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, "; ");

/** The rollback itself; the caller holds the state lock and has just read `pending`. */
async function performRollback(target: Target, stateDir: string, pending: PendingTry, ctx: TryContext): Promise<RollbackOutcome> {
  const log = ctx.log ?? (() => {});
  log("rolling back the configuration");
  const restored = pending.rollbackTarget;
  try {
    let applied: Applied | null = null;
    if (restored) {
      const candidate = await prepareCandidate(target, restored.config.sources, optionsOf(restored.config));
      applied = await applyCandidate(target, stateDir, candidate);
    }
    const removedTables: string[] = [];
    for (const table of pending.tables) {
      if (table !== restored?.config.options.table && (await removeTable(target, table))) removedTables.push(table);
    }
    if (!restored) removeState(stateDir);
    removePendingTry(stateDir);
    const removed = removedTables.map((t) => `inet ${t}`).join(", ");
    log(
      restored
        ? `rolled back ${where(target)} to the configuration confirmed at ${restored.confirmedAt} (${restored.config.sources.map((s) => s.file).join(", ") || "no input"})${removed ? `; removed table ${removed}` : ""}`
        : `rolled back ${where(target)}: nothing was confirmed, ${removed ? `removed table ${removed}` : "no table to remove"}`,
    );
    return { kind: "rolled-back", pending, restored, applied, removedTables };
  } catch (e) {
    const error = errorText(e);
    log(`config rollback failed ${error}`);
    const now = clock(ctx);
    const attempts = pending.rollback.attempts + 1;
    const failed: PendingTry = {
      ...pending,
      // A rollback asked for before the deadline ends the window all the same: retried, never confirmable.
      deadline: new Date(Math.min(Date.parse(pending.deadline), now.getTime())).toISOString(),
      rollback: {
        attempts,
        lastError: error,
        lastAttemptAt: now.toISOString(),
        nextAttemptAt: new Date(now.getTime() + rollbackBackoffMs(attempts)).toISOString(),
      },
    };
    writePendingTry(stateDir, failed);
    return { kind: "failed", pending: failed, error };
  }
}

/** Roll back the pending try now, whatever its deadline (`ingressfw rollback`). */
export function rollbackNow(target: Target, stateDir: string, ctx: TryContext = {}): Promise<RollbackOutcome> {
  return withStateLock(stateDir, async () => {
    const pending = readPendingTry(stateDir);
    if (!pending) throw new TryError("none", `no try is pending in ${where(target)}: nothing to roll back`);
    return performRollback(target, stateDir, pending, ctx);
  });
}

function overdueState(pending: PendingTry | null, now: Date, ignoreBackoff: boolean): OverdueOutcome | null {
  if (!pending) return { kind: "none" };
  if (now.getTime() < Date.parse(pending.deadline)) return { kind: "pending", pending };
  if (!ignoreBackoff && now.getTime() < rollbackDueAt(pending).getTime()) return { kind: "backoff", pending };
  return null;
}

/**
 * Roll back when the try's deadline has passed (and, after a failed attempt, its backoff unless
 * `ignoreBackoff`); otherwise say what is pending. Cheap when nothing is due: the lock is taken only to act.
 */
export async function resolveOverdueTry(
  target: Target,
  stateDir: string,
  ctx: TryContext & { readonly ignoreBackoff?: boolean } = {},
): Promise<OverdueOutcome> {
  const early = overdueState(readPendingTry(stateDir), clock(ctx), ctx.ignoreBackoff ?? false);
  if (early) return early;
  return withStateLock(stateDir, async () => {
    // Confirmed, replaced or rolled back meanwhile?
    const pending = readPendingTry(stateDir);
    return overdueState(pending, clock(ctx), ctx.ignoreBackoff ?? false) ?? performRollback(target, stateDir, pending!, ctx);
  });
}

/** The pid of the guardian watching this state directory, or null. */
export function guardianPid(stateDir: string): number | null {
  return lockHolder(join(stateDir, GUARDIAN_LOCK_FILE))?.pid ?? null;
}

/**
 * Start a guardian (`COMMAND guard --state-dir DIR [--netns N]`) unless one is running: in a new session
 * (setsid), stdio to guard.log, not waited for, so it outlives the invoking process, its terminal and
 * its SSH connection. Returns the guardian's pid.
 */
export function ensureGuardian(command: readonly string[], target: Target, stateDir: string): number {
  const running = guardianPid(stateDir);
  if (running !== null) return running;
  const logFile = join(stateDir, GUARD_LOG_FILE);
  let tooBig = false;
  try {
    tooBig = statSync(logFile).size > GUARD_LOG_MAX;
  } catch {
    // no log yet
  }
  const fd = openSync(logFile, tooBig ? "w" : "a", 0o644);
  try {
    const [file, ...args] = command;
    const child = spawn(file!, [...args, "guard", "--state-dir", stateDir, ...(target.netns ? ["--netns", target.netns] : [])], {
      detached: true,
      stdio: ["ignore", fd, fd],
    });
    child.on("error", () => {}); // reported below: no pid
    child.unref();
    if (child.pid === undefined) throw new Error(`cannot start the guardian ${file}`);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}
