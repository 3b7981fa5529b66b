// The CLI's use of a running daemon: apply, confirm, rollback and status go through the daemon that
// serves the target (its socket exists and answers), so the daemon stays the one owner of the kernel
// table and of a try's rollback. Without a daemon the commands act on the kernel themselves. The
// replies carry the same objects the direct path produces, so the commands print the same lines.
import { resolve } from "node:path";
import type { Command } from "commander";
import type { z } from "zod";
import { formatAddress } from "../net/address.js";
import type { ApplyResult } from "../kernel/apply.js";
import { describeTarget, hasNetAdmin, type Target } from "../kernel/exec.js";
import type { ConfirmedState } from "../kernel/state.js";
import type { PendingTry } from "../kernel/try-state.js";
import { ApplyReplySchema, ConfirmReplySchema, RollbackReplySchema, type ApplyRequest, type DaemonStatus } from "../daemon/api.js";
import type { Candidate } from "../daemon/apply-config.js";
import { daemonAnswers, DaemonAccessError, defaultSocketPath, replyError, requestDaemon, type DaemonReply } from "../daemon/client.js";
import { formatGoDuration } from "../daemon/go-duration.js";
import type { RollbackOutcome } from "../daemon/try.js";
import { EXIT, UserError } from "./exit-codes.js";

export interface SocketOptions {
  socket?: string;
  stateDir?: string;
}

export function addSocketOption(cmd: Command): Command {
  return cmd.option("--socket <path>", "the daemon's API socket, used when a daemon answers there (default /run/ingressfw/<netns or host>.sock)");
}

function parseReply<T>(schema: z.ZodType<T>, r: DaemonReply, socket: string): T {
  const parsed = schema.safeParse(r.body);
  if (!parsed.success) throw new UserError(`the daemon at ${socket} sent an unexpected reply (is it another ingressfw version?)`, EXIT.FAILURE);
  return parsed.data;
}

export class DaemonRoute {
  constructor(
    readonly socket: string,
    readonly status: DaemonStatus,
  ) {}

  private async call(path: string, body?: unknown): Promise<DaemonReply> {
    let r: DaemonReply;
    try {
      r = await requestDaemon(this.socket, "POST", path, body);
    } catch (e) {
      if (e instanceof DaemonAccessError) throw new UserError(e.message, EXIT.NO_PERMISSION);
      throw new UserError(`the daemon at ${this.socket}: ${(e as Error).message}`, EXIT.FAILURE);
    }
    if (r.status === 200) return r;
    if (r.status === 422) {
      // The CLI validated the same sources already; the daemon can still differ (another version).
      const diags = (r.body as { diagnostics?: { text?: unknown }[] } | null)?.diagnostics ?? [];
      for (const d of diags) if (typeof d.text === "string") process.stderr.write(`${d.text}\n`);
      throw new UserError(`the daemon refused the configuration: ${replyError(r)}`, EXIT.BAD_CONFIG);
    }
    throw new UserError(`${describeTarget(this.target)} (through the daemon): ${replyError(r)}`, EXIT.FAILURE);
  }

  private get target(): Target {
    const netns = this.status.daemon.target.netns;
    return netns === null ? {} : { netns };
  }

  private applyRequest(candidate: Candidate): ApplyRequest {
    const o = candidate.options;
    return {
      sources: candidate.sources.map((s) => ({ file: s.file, text: s.text })),
      options: {
        profile: o.profile,
        layout: o.layout,
        table: o.table,
        ...(o.nodeAddresses ? { nodeAddresses: o.nodeAddresses.map((a) => formatAddress(a.family, a.value)) } : {}),
        ...(o.strict !== undefined ? { strict: o.strict } : {}),
      },
    };
  }

  /** A plain apply (confirms, cancels a pending try), as applyConfirmed returns it. */
  async apply(candidate: Candidate): Promise<{ result: ApplyResult; stateFile: string; cancelledTry: PendingTry | null }> {
    const r = parseReply(ApplyReplySchema, await this.call("/v1/apply", this.applyRequest(candidate)), this.socket);
    return { result: r.result, stateFile: r.stateFile, cancelledTry: r.cancelledTry ?? null };
  }

  /** A try, as startTry returns it; the daemon owns the rollback (no guardian). */
  async startTry(
    candidate: Candidate,
    timeout: bigint,
  ): Promise<{ applied: { result: ApplyResult; stateFile: string }; pending: PendingTry; replaced: PendingTry | null }> {
    const body = { ...this.applyRequest(candidate), mode: "try" as const, timeout: formatGoDuration(timeout) };
    const r = parseReply(ApplyReplySchema, await this.call("/v1/apply", body), this.socket);
    if (!r.pending) throw new UserError(`the daemon at ${this.socket} did not report the pending try`, EXIT.FAILURE);
    return { applied: { result: r.result, stateFile: r.stateFile }, pending: r.pending, replaced: r.replaced ?? null };
  }

  async confirm(): Promise<{ confirmed: ConfirmedState; pending: PendingTry }> {
    return parseReply(ConfirmReplySchema, await this.call("/v1/confirm"), this.socket);
  }

  /** A completed rollback; a failed one is a UserError (the daemon retries it). */
  async rollback(): Promise<RollbackOutcome> {
    const r = parseReply(RollbackReplySchema, await this.call("/v1/rollback"), this.socket);
    return { ...r, applied: null };
  }
}

/**
 * The daemon serving `target`, or null when none answers on its socket (or this user may not use it
 * and has no rights to act directly either). A daemon for another namespace, or with another state
 * directory than an explicit --state-dir, is a usage error rather than silently acting elsewhere.
 */
export async function daemonFor(target: Target, opts: SocketOptions): Promise<DaemonRoute | null> {
  const socket = resolve(opts.socket ?? defaultSocketPath(target));
  let r: DaemonReply;
  try {
    if (!(await daemonAnswers(socket))) {
      if (opts.socket !== undefined) throw new UserError(`no daemon answers on ${socket}`, EXIT.USAGE);
      return null;
    }
    r = await requestDaemon(socket, "GET", "/v1/status", undefined, 10_000);
  } catch (e) {
    if (e instanceof UserError) throw e;
    if (e instanceof DaemonAccessError) {
      // Without CAP_NET_ADMIN the direct path fails too, with the usual message (exit 77); with it,
      // acting directly beside a daemon would fight it.
      if (!hasNetAdmin()) return null;
      throw new UserError(e.message, EXIT.NO_PERMISSION);
    }
    throw new UserError(`the daemon at ${socket} does not answer properly: ${(e as Error).message}`, EXIT.FAILURE);
  }
  const status = r.body as DaemonStatus;
  const netns = status.daemon?.target?.netns ?? null;
  if (netns !== (target.netns ?? null)) {
    throw new UserError(`the daemon at ${socket} serves ${describeTarget(netns === null ? {} : { netns })}, not ${describeTarget(target)}`, EXIT.USAGE);
  }
  if (opts.stateDir !== undefined && resolve(opts.stateDir) !== status.daemon.stateDir) {
    throw new UserError(`the daemon serving ${describeTarget(target)} keeps its state in ${status.daemon.stateDir}, not ${opts.stateDir}`, EXIT.USAGE);
  }
  return new DaemonRoute(socket, status);
}

/** The daemon's part of `status` in text. */
export function daemonStatusLines(s: DaemonStatus): string[] {
  const d = s.daemon;
  const out = [`daemon: pid ${d.pid} since ${d.startedAt}, socket ${d.socket}, state ${d.stateDir}`, `  watching ${s.configDir.path}`];
  const a = s.active;
  if (a) {
    const what = a.kind === "try" ? "the pending try's configuration" : "the confirmed configuration";
    out.push(`  enforcing ${what} (${a.inputs.join(", ") || "no input"}) as table inet ${a.table} since ${a.since}`);
    if (a.nodeAddresses) out.push(`  node addresses (discovered, followed): ${a.nodeAddresses.join(", ") || "none"}`);
  } else out.push("  enforcing nothing: no confirmed configuration and no pending try");
  out.push(`  try rollback owned by ${d.ownsRollback ? "this daemon" : "a guardian process"}`);
  const p = s.configDir.problem;
  if (p) out.push(`  configuration directory not applied (${p.at}): ${p.message}`, ...p.diagnostics.map((x) => `    ${x.text}`));
  const e = s.enforcement;
  if (e.driftRepairs > 0) out.push(`  drift repaired ${e.driftRepairs} time(s), last at ${e.lastDriftRepairAt}`);
  if (e.problem) out.push(`  enforcement failing: ${e.problem}`);
  if (s.lastError && s.lastError.message !== p?.message) out.push(`  last error (${s.lastError.event}, ${s.lastError.at}): ${s.lastError.message}`);
  return out;
}
