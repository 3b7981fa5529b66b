// Pid lock files in a state directory. `lock` serialises every change of a target's state (apply, try,
// confirm, rollback) across processes; `guard.pid` makes sure one guardian at most watches a pending
// try. A holder is a pid plus its start time from /proc, so a lock left by a killed process (or by a
// process before a reboot whose pid was reused) counts as free.
import { linkSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { StateError } from "./state.js";

export const STATE_LOCK_FILE = "lock";
export const GUARDIAN_LOCK_FILE = "guard.pid";

export interface LockHolder {
  readonly pid: number;
  /** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot); null when unknown. */
  readonly start: string | null;
}

function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) is in parentheses and may hold spaces: count from the last ')'.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null;
  } catch {
    return null;
  }
}

const self = (): LockHolder => ({ pid: process.pid, start: processStart(process.pid) });

function isAlive(h: LockHolder): boolean {
  const start = processStart(h.pid);
  return start !== null && (h.start === null || h.start === start);
}

function readHolder(file: string): { holder: LockHolder | null; ino: number } | null {
  try {
    const ino = statSync(file).ino;
    const data = JSON.parse(readFileSync(file, "utf8")) as Partial<LockHolder>;
    const holder = typeof data.pid === "number" ? { pid: data.pid, start: typeof data.start === "string" ? data.start : null } : null;
    return { holder, ino };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    // unreadable or not JSON: written by nobody we know, treat as stale
    return { holder: null, ino: -1 };
  }
}

/** The live holder of a lock file, or null when it is free (absent or left by a dead process). */
export function lockHolder(file: string): LockHolder | null {
  const h = readHolder(file)?.holder ?? null;
  return h && isAlive(h) ? h : null;
}

/**
 * Take the lock without waiting: true when this process now holds it. The file appears complete at
 * once (written aside, then hard-linked into place, which fails when it exists); a stale file is
 * removed — only if it is still the same file — and the link tried again.
 */
export function tryLock(file: string): boolean {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(self()) + "\n", { mode: 0o644 });
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        linkSync(tmp, file);
        return true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      }
      const current = readHolder(file);
      if (current === null) continue; // released meanwhile
      if (current.holder && isAlive(current.holder)) return false;
      try {
        if (current.ino === -1 || statSync(file).ino === current.ino) unlinkSync(file);
      } catch {
        // removed by someone else meanwhile; try the link again
      }
    }
    return false;
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
  }
}

/** Release a lock this process holds; a lock taken over by another process is left alone. */
export function unlock(file: string): void {
  const current = readHolder(file)?.holder;
  if (current?.pid !== process.pid) return;
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How long a change waits for another process's change of the same target. */
export const STATE_LOCK_WAIT_MS = 60_000;

/**
 * Run `fn` holding the state lock of `dir`, waiting (polling, bounded) while another process or
 * another call in this process holds it. Not reentrant: `fn` must not take the lock again.
 */
export async function withStateLock<T>(dir: string, fn: () => Promise<T> | T, waitMs = STATE_LOCK_WAIT_MS): Promise<T> {
  const file = join(dir, STATE_LOCK_FILE);
  const until = Date.now() + waitMs;
  for (;;) {
    let taken: boolean;
    try {
      mkdirSync(dir, { recursive: true, mode: 0o755 });
      taken = tryLock(file);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      const kind = err.code === "EACCES" || err.code === "EPERM" || err.code === "EROFS" ? "no-permission" : "io";
      throw new StateError(kind, `cannot take the lock ${file}: ${err.message}`);
    }
    if (taken) break;
    if (Date.now() >= until) {
      const h = lockHolder(file);
      throw new StateError("io", `another ingressfw process${h ? ` (pid ${h.pid})` : ""} is changing this target and holds ${file}; try again later`);
    }
    await sleep(20);
  }
  try {
    return await fn();
  } finally {
    unlock(file);
  }
}
