// The detached guardian (`ingressfw guard`, started by ensureGuardian): owns the rollback of a pending try
// when no daemon runs for the target. It holds guard.pid so two guardians never act at once, wakes at
// least every POLL_MS to re-read the persisted try (a confirm, a rollback or a second try may have changed
// it), rolls back when it is due, retries a failed rollback with backoff, and exits when nothing is pending.
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Target } from "../kernel/exec.js";
import { GUARDIAN_LOCK_FILE, lockHolder, tryLock, unlock } from "../kernel/lock.js";
import { StateError } from "../kernel/state.js";
import { readPendingTry, resolveOverdueTry, rollbackDueAt } from "./try.js";

/** The longest sleep between two reads of the pending try. */
export const POLL_MS = 250;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface GuardianOptions {
  readonly log: (line: string) => void;
  readonly pollMs?: number;
}

/** Runs until no try is pending (or another guardian owns it, or the namespace is gone). */
export async function runGuardian(target: Target, stateDir: string, opts: GuardianOptions): Promise<void> {
  const lockFile = join(stateDir, GUARDIAN_LOCK_FILE);
  const pollMs = opts.pollMs ?? POLL_MS;
  const log = opts.log;
  if (!tryLock(lockFile)) {
    log(`another guardian (pid ${lockHolder(lockFile)?.pid ?? "?"}) watches ${stateDir}; exiting`);
    return;
  }
  log(`watching the pending try in ${stateDir}`);
  let failures = 0;
  try {
    for (;;) {
      let pending;
      try {
        pending = readPendingTry(stateDir);
      } catch (e) {
        // Written atomically: an invalid file will not fix itself. The next command reports it.
        log(`cannot read the pending try: ${(e as Error).message}; exiting`);
        return;
      }
      if (!pending) {
        // Release, then look once more: a try started between the read and the release found this
        // guardian alive and spawned none.
        unlock(lockFile);
        if (readPendingTry(stateDir) === null || !tryLock(lockFile)) {
          log("no try is pending; exiting");
          return;
        }
        continue;
      }
      if (target.netns && !existsSync(join("/var/run/netns", target.netns))) {
        log(`network namespace ${JSON.stringify(target.netns)} is gone: nothing to roll back; exiting`);
        return;
      }
      const wait = rollbackDueAt(pending).getTime() - Date.now();
      if (wait > 0) {
        await sleep(Math.min(wait, pollMs));
        continue;
      }
      try {
        const outcome = await resolveOverdueTry(target, stateDir, { log });
        failures = 0;
        if (outcome.kind === "failed") log(`attempt ${outcome.pending.rollback.attempts} failed; next at ${outcome.pending.rollback.nextAttemptAt}`);
      } catch (e) {
        // The state lock was busy, or the state could not be written: try again shortly (bounded backoff).
        failures++;
        log(`${e instanceof StateError ? "" : "unexpected error: "}${(e as Error).message}`);
        await sleep(Math.min(pollMs * 2 ** Math.min(failures, 8), 60_000));
      }
    }
  } finally {
    unlock(lockFile);
  }
}
