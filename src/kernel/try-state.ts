// The pending try of one target (semantics §7), persisted as pending-try.json in its state directory so
// that whichever process owns the rollback — a detached guardian, the daemon, or the next ingressfw
// command after a crash — finds it: the absolute deadline, the candidate, the rollback target (the last
// confirmed state, D5) and the rollback attempts so far. Also the views `status` shows of it.
import { z } from "zod";
import { ConfigSnapshotSchema, ConfirmedSchema, readJsonFile, removeFile, writeJsonAtomic, type ConfigSnapshot, type ConfirmedState } from "./state.js";

export const PENDING_TRY_FILE = "pending-try.json";

export const PendingTrySchema = z.object({
  version: z.literal(1),
  target: z.object({ netns: z.string().nullable() }),
  startedAt: z.iso.datetime(),
  /** When the rollback is due (absolute, so a restarted process computes the time left). */
  deadline: z.iso.datetime(),
  /** The timeout as given, in Go's duration format (`1m0s`). */
  timeout: z.string(),
  /** The configuration being tried: `confirm` persists it as the confirmed one. */
  candidate: ConfigSnapshotSchema,
  /** The last confirmed state; null when nothing was ever confirmed (the rollback removes the table). */
  rollbackTarget: ConfirmedSchema.nullable(),
  /** Every table a try in this window applied; the rollback removes those the target does not use. */
  tables: z.array(z.string()),
  rollback: z.object({
    /** Failed rollback attempts so far. */
    attempts: z.number().int().nonnegative(),
    lastError: z.string().nullable(),
    lastAttemptAt: z.iso.datetime().nullable(),
    /** When the next attempt is due after a failure (backoff); null before the first attempt. */
    nextAttemptAt: z.iso.datetime().nullable(),
  }),
});

export type PendingTry = z.infer<typeof PendingTrySchema>;

export function writePendingTry(dir: string, pending: PendingTry): string {
  return writeJsonAtomic(dir, PENDING_TRY_FILE, PendingTrySchema.parse(pending));
}

/** The pending try in `dir`, or null when none is pending. */
export function readPendingTry(dir: string): PendingTry | null {
  return readJsonFile(dir, PENDING_TRY_FILE, PendingTrySchema, "pending try");
}

export function removePendingTry(dir: string): boolean {
  return removeFile(dir, PENDING_TRY_FILE, "pending try");
}

/** When the owner of the rollback should act next: the deadline, or the next retry after a failure. */
export function rollbackDueAt(p: PendingTry): Date {
  const deadline = Date.parse(p.deadline);
  const retry = p.rollback.nextAttemptAt === null ? deadline : Date.parse(p.rollback.nextAttemptAt);
  return new Date(Math.max(deadline, retry));
}

export interface ConfigSummary {
  readonly inputs: readonly string[];
  readonly table: string;
}

const summary = (c: ConfigSnapshot): ConfigSummary => ({ inputs: c.sources.map((s) => s.file), table: c.options.table });

export interface ConfirmedView extends ConfigSummary {
  readonly file: string;
  readonly confirmedAt: string;
}

export function confirmedView(c: ConfirmedState, file: string): ConfirmedView {
  return { file, confirmedAt: c.confirmedAt, ...summary(c.config) };
}

export interface PendingTryView {
  readonly file: string;
  readonly startedAt: string;
  readonly deadline: string;
  readonly timeout: string;
  /** Milliseconds until the deadline; negative when it has passed (the rollback is due or failing). */
  readonly remainingMs: number;
  readonly candidate: ConfigSummary;
  /** The configuration the rollback restores; null: the rollback removes the table (nothing confirmed). */
  readonly rollbackTarget: (ConfigSummary & { readonly confirmedAt: string }) | null;
  readonly rollback: PendingTry["rollback"];
  /** The guardian process watching the deadline; null when none runs (the daemon or the next command acts). */
  readonly guardianPid: number | null;
}

export function pendingTryView(p: PendingTry, file: string, now: Date, guardianPid: number | null): PendingTryView {
  return {
    file,
    startedAt: p.startedAt,
    deadline: p.deadline,
    timeout: p.timeout,
    remainingMs: Date.parse(p.deadline) - now.getTime(),
    candidate: summary(p.candidate),
    rollbackTarget: p.rollbackTarget && { confirmedAt: p.rollbackTarget.confirmedAt, ...summary(p.rollbackTarget.config) },
    rollback: p.rollback,
    guardianPid,
  };
}
