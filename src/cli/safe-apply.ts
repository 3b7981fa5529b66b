// CLI side of try mode: the --timeout parser, the command a guardian is spawned with, and the one-line
// texts for what a try, a confirm or a rollback did. The logic is in src/daemon/try.ts.
import { InvalidArgumentError } from "commander";
import { DurationError, formatGoDuration, parseGoDuration } from "../daemon/go-duration.js";
import { ensureGuardian, resolveOverdueTry, type OverdueOutcome, type RollbackOutcome } from "../daemon/try.js";
import { describeTarget, type Target } from "../kernel/exec.js";
import type { ConfirmedState } from "../kernel/state.js";
import type { PendingTry } from "../kernel/try-state.js";

/** Talos's default try timeout. */
export const DEFAULT_TRY_TIMEOUT = 60_000_000_000n;

export function parseTimeout(v: string): bigint {
  let ns: bigint;
  try {
    ns = parseGoDuration(v);
  } catch (e) {
    if (e instanceof DurationError) throw new InvalidArgumentError(`${e.message.replace(/^time: /, "")} (Go syntax: 30s, 1m30s, 2h)`);
    throw e;
  }
  if (ns <= 0n) throw new InvalidArgumentError(`the timeout must be positive, not ${formatGoDuration(ns)}`);
  return ns;
}

/**
 * How to run this CLI again (`node [--import tsx] …/bin.js`), for the detached guardian. argv[1] is
 * the absolute script path; execArgv carries loaders such as tsx.
 */
export function cliCommand(): string[] {
  return [process.execPath, ...process.execArgv, process.argv[1]!];
}

export const confirmedText = (c: ConfirmedState | null, table: string): string =>
  c
    ? `the configuration confirmed at ${c.confirmedAt} (${c.config.sources.map((s) => s.file).join(", ") || "no input"}, table inet ${c.config.options.table})`
    : `no table (nothing was confirmed: the rollback removes table inet ${table})`;

export function rollbackText(o: RollbackOutcome): string {
  if (o.kind === "failed") {
    return `config rollback failed ${o.error} (attempt ${o.pending.rollback.attempts}; retried at ${o.pending.rollback.nextAttemptAt})`;
  }
  const removed = o.removedTables.length ? `; removed table ${o.removedTables.map((t) => `inet ${t}`).join(", ")}` : "";
  return o.restored ? `rolled back to ${confirmedText(o.restored, o.restored.config.options.table)}${removed}` : `rolled back: nothing was confirmed${removed}`;
}

export function confirmMessage(target: Target, r: { pending: PendingTry; confirmed: ConfirmedState }): string {
  const c = r.pending.candidate;
  return (
    `confirmed in ${describeTarget(target)}: ${c.sources.map((s) => s.file).join(", ") || "(no input)"} (table inet ${c.options.table}) is kept; ` +
    `the rollback due at ${r.pending.deadline} is cancelled\nconfirmed configuration: ${confirmedText(r.confirmed, r.confirmed.config.options.table)}`
  );
}

const note = (line: string) => process.stderr.write(`ingressfw: ${line}\n`);

/**
 * Every command touching a target first settles its try: an overdue one is rolled back now (the
 * guardian may have died with a reboot), a pending one without a watcher gets a guardian again.
 * Says on stderr what happened. With `tolerant`, a failure to settle is a warning (status must show).
 *
 * DAEMON HOOK: when a daemon serves this target it owns the rollback; the daemon's client should route
 * the command to it before this runs, and no guardian is needed.
 */
export async function settleTry(target: Target, stateDir: string, opts: { tolerant?: boolean } = {}): Promise<OverdueOutcome | null> {
  let outcome: OverdueOutcome;
  try {
    outcome = await resolveOverdueTry(target, stateDir, { log: () => {} });
    if (outcome.kind === "pending" || outcome.kind === "backoff" || outcome.kind === "failed") ensureGuardian(cliCommand(), target, stateDir);
  } catch (e) {
    if (!opts.tolerant) throw e;
    note(`warning: cannot settle the pending try: ${(e as Error).message}`);
    return null;
  }
  if (outcome.kind === "rolled-back" || outcome.kind === "failed") note(`the try expired at ${outcome.pending.deadline}: ${rollbackText(outcome)}`);
  return outcome;
}

/** One keypress from the terminal (raw mode), or null when `ms` pass first. */
function readKey(ms: number): Promise<string | null> {
  return new Promise((resolve) => {
    const stdin = process.stdin;
    const done = (key: string | null) => {
      clearTimeout(timer);
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      resolve(key);
    };
    const onData = (b: Buffer) => done(b.toString("utf8"));
    const timer = setTimeout(() => done(null), Math.max(0, ms));
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on("data", onData);
  });
}

/**
 * `apply --mode try --prompt`: wait in the terminal until the deadline for y (confirm now) or n (roll
 * back now); any other key, or the deadline, leaves the try to its guardian. Killing this process or
 * closing the terminal changes nothing: the guardian owns the rollback.
 */
export async function promptConfirm(deadline: Date, actions: { confirm: () => Promise<string>; rollback: () => Promise<string> }): Promise<void> {
  process.stdout.write(`confirm now? [y] confirm, [n] roll back now, any other key: leave it pending (rolled back at ${deadline.toISOString()})\n`);
  const key = await readKey(deadline.getTime() - Date.now());
  if (key === null) process.stdout.write("the deadline has passed: the guardian rolls the try back\n");
  else if (key.toLowerCase() === "y") process.stdout.write(`${await actions.confirm()}\n`);
  else if (key.toLowerCase() === "n") process.stdout.write(`${await actions.rollback()}\n`);
  else process.stdout.write("left pending: 'ingressfw confirm' keeps it, 'ingressfw rollback' reverts it now\n");
}
