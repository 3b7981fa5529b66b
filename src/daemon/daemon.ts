// `ingressfw daemon`: keeps one target's firewall applied.
//   start   one daemon per state directory and socket; take the rollback of a pending try (guard.pid, the
//           lock a detached guardian takes, so the two never both act); roll back an overdue try at once;
//           apply the confirmed configuration or the pending try's candidate (boot persistence); then the
//           configuration directory when its content changed since the daemon last applied it.
//   run     every change goes through one serial queue: directory edits (applied as plain applies, which
//           confirm), API requests, address changes, try deadlines, and a reconcile every second that
//           repairs drift (src/daemon/enforcer.ts). An invalid edit never reaches the kernel: the last
//           good ruleset stays and the error is logged and shown by GET /v1/status.
//   stop    SIGTERM/SIGINT: stop watching and serving; the ruleset is left in place. A pending try is
//           handed to a detached guardian, so its rollback still happens.
import { performance } from "node:perf_hooks";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { formatDiagnostic, type Diagnostic } from "../config/diagnostics.js";
import type { SourceText } from "../config/input.js";
import { describeTarget, type Target } from "../kernel/exec.js";
import { GUARDIAN_LOCK_FILE, lockHolder, tryLock, unlock } from "../kernel/lock.js";
import { StateError } from "../kernel/state.js";
import { PENDING_TRY_FILE, pendingTryView } from "../kernel/try-state.js";
import { formatAddress, parseAddress } from "../net/address.js";
import { apiRoutes, type ApplyRequest, type DaemonHandlers, type DaemonStatus, type DiagnosticJson, type Outcome, type Problem } from "./api.js";
import { applyConfirmed, checkSources, compileCandidate, type ConfigOptions } from "./apply-config.js";
import { readConfigDir, type DirSnapshot } from "./config-dir.js";
import { readDirRecord, writeDirRecord } from "./dir-record.js";
import { addressList, Enforcer } from "./enforcer.js";
import { formatGoDuration, parseGoDuration } from "./go-duration.js";
import { prepareSocketPath, serveUnix, SocketInUseError, type UnixServer } from "./http-server.js";
import type { Logger } from "./log.js";
import { MetricsRecorder, metricsPage, timed } from "./metrics.js";
import { Serial } from "./serial.js";
import { confirmTry, ensureGuardian, readPendingTry, resolveOverdueTry, rollbackDueAt, rollbackNow, startTry, TryError } from "./try.js";
import { watchAddresses } from "./watch-addresses.js";
import { watchConfigDir, type Closeable, type ConfigDirEvent } from "./watch-config.js";

/** Held for the daemon's life: a second daemon for the same state directory refuses to start. */
export const DAEMON_LOCK_FILE = "daemon.pid";

/** Talos's default try timeout. */
const DEFAULT_TRY_TIMEOUT = "1m";

const TIMING = {
  /** Drift check and try deadline check. */
  reconcileMs: 1000,
  configDebounceMs: 200,
  /** The fallback for what inotify on the directory cannot see. */
  configPollMs: 2000,
  /** The fallback for a missed `ip monitor` event. */
  addressPollMs: 5000,
} as const;

export interface DaemonOptions {
  readonly target: Target;
  /** Absolute path of the watched configuration directory. */
  readonly configDir: string;
  readonly stateDir: string;
  readonly socketPath: string;
  /** The socket's directory is ingressfw's own (the default /run/ingressfw): it is made 0700. */
  readonly ownSocketDir: boolean;
  /** Compile options for the directory, and the defaults for API requests. */
  readonly config: ConfigOptions;
  readonly log: Logger;
  /** How to run this CLI (`[node, …, bin.js]`), to hand a pending try to a guardian on stop. */
  readonly guardianCommand: readonly string[];
}

/** Why the daemon cannot start (another daemon, a busy socket path). */
export class DaemonStartError extends Error {}

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, "; ");

export function diagnosticJson(d: Diagnostic): DiagnosticJson {
  return { severity: d.severity, file: d.pos.file, line: d.pos.line, col: d.pos.col, ...(d.code ? { code: d.code } : {}), text: formatDiagnostic(d) };
}

export class Daemon {
  private readonly serial = new Serial();
  /** Apply, try, confirm and rollback events (API, config directory, deadline rollbacks) for GET /metrics. */
  private readonly metrics = new MetricsRecorder();
  private readonly enforcer: Enforcer;
  private readonly guardFile: string;
  private readonly daemonLockFile: string;
  private readonly startedAt = new Date().toISOString();
  private ownsGuard = false;
  private server: UnixServer | null = null;
  private watchers: Closeable[] = [];
  private ticker: NodeJS.Timeout | null = null;
  private tryTimer: NodeJS.Timeout | null = null;
  private tickQueued = false;
  private stopping = false;
  /** The directory content last seen and the problem with it (invalid, unreadable, rejected). */
  private dirHash: string | null = null;
  private dirProblem: Problem | null = null;
  private lastError: (Problem & { readonly event: string }) | null = null;

  constructor(private readonly o: DaemonOptions) {
    this.enforcer = new Enforcer({ target: o.target, stateDir: o.stateDir, log: o.log });
    this.guardFile = join(o.stateDir, GUARDIAN_LOCK_FILE);
    this.daemonLockFile = join(o.stateDir, DAEMON_LOCK_FILE);
  }

  async start(): Promise<void> {
    const { stateDir } = this.o;
    mkdirSync(stateDir, { recursive: true, mode: 0o755 });
    if (!tryLock(this.daemonLockFile)) {
      throw new DaemonStartError(`another daemon (pid ${lockHolder(this.daemonLockFile)?.pid ?? "?"}) serves ${stateDir}`);
    }
    try {
      await this.startHoldingLock();
    } catch (e) {
      this.watchers.forEach((w) => w.close());
      this.server?.destroy();
      await this.server?.close();
      if (this.ownsGuard) unlock(this.guardFile);
      unlock(this.daemonLockFile);
      throw e instanceof SocketInUseError ? new DaemonStartError(e.message) : e;
    }
  }

  private async startHoldingLock(): Promise<void> {
    const { log, target, stateDir, configDir } = this.o;
    await prepareSocketPath(this.o.socketPath, this.o.ownSocketDir);
    log.info("starting", `${describeTarget(target)}: configuration ${configDir}, state ${stateDir}, socket ${this.o.socketPath}`, { pid: process.pid });
    await this.serial.run(async () => {
      this.takeGuard();
      await this.rollbackIfDue();
      await this.enforcer.reconcile(true);
      await this.applyDirOnStart();
    });
    this.server = await serveUnix(this.o.socketPath, apiRoutes(this.handlers()), (e) => log.error("api-error", errorText(e)));
    this.watchers.push(
      watchConfigDir(configDir, this.dirHash, (e) => this.queue(() => this.onDirEvent(e)), {
        debounceMs: TIMING.configDebounceMs,
        pollMs: TIMING.configPollMs,
      }),
      watchAddresses(
        target,
        () => {
          this.enforcer.addressesChanged();
          this.kick();
        },
        { pollMs: TIMING.addressPollMs, onMonitorProblem: (m) => log.warn("address-monitor", m) },
      ),
    );
    this.ticker = setInterval(() => this.kick(), TIMING.reconcileMs);
    this.scheduleTryTimer();
    log.info("started", `enforcing ${describeTarget(target)}; API on ${this.o.socketPath}`, { pid: process.pid });
  }

  /** Stop watching and serving; the ruleset stays as it is. A pending try gets a guardian. */
  async stop(reason: string): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const { log, target, stateDir } = this.o;
    log.info("stopping", `${reason}: the ruleset is left in place`);
    if (this.ticker) clearInterval(this.ticker);
    if (this.tryTimer) clearTimeout(this.tryTimer);
    this.watchers.forEach((w) => w.close());
    // No new requests; those in flight finish and are answered. Bounded: a task stuck on the kernel
    // must not keep the process from stopping.
    const closed = this.server?.close();
    const bounded = (p: Promise<unknown> | undefined, ms: number) => Promise.race([p, new Promise((r) => setTimeout(r, ms).unref())]);
    await bounded(this.serial.idle(), 10_000);
    await bounded(closed, 1000);
    this.server?.destroy();
    if (this.ownsGuard) {
      unlock(this.guardFile);
      this.ownsGuard = false;
      try {
        if (readPendingTry(stateDir)) {
          const pid = ensureGuardian(this.o.guardianCommand, target, stateDir);
          log.info("guardian-started", `the pending try's rollback is handed to guardian pid ${pid}`);
        }
      } catch (e) {
        log.error(
          "guardian-failed",
          `cannot hand the pending try to a guardian: ${errorText(e)}; the next ingressfw command on this target rolls it back when due`,
        );
      }
    }
    unlock(this.daemonLockFile);
    log.info("stopped", `no longer enforcing ${describeTarget(target)}`);
  }

  /** Run `task` in the serial queue; an unexpected error is logged, never thrown into an event callback. */
  private queue(task: () => Promise<void>): void {
    void this.serial.run(task).catch((e: unknown) => this.fail("internal-error", errorText(e)));
  }

  /** One reconcile queued at a time: a burst of triggers costs one run. */
  private kick(): void {
    if (this.tickQueued || this.stopping) return;
    this.tickQueued = true;
    this.queue(async () => {
      this.tickQueued = false;
      if (this.stopping) return;
      this.takeGuard();
      await this.rollbackIfDue();
      await this.enforcer.reconcile();
      this.scheduleTryTimer();
    });
  }

  private fail(event: string, message: string, diagnostics: readonly DiagnosticJson[] = []): void {
    this.o.log.error(event, message);
    this.lastError = { event, at: new Date().toISOString(), message, diagnostics };
  }

  /** The daemon owns a pending try's rollback while it holds guard.pid; a running guardian keeps it until it exits. */
  private takeGuard(): void {
    if (this.ownsGuard && lockHolder(this.guardFile)?.pid !== process.pid) this.ownsGuard = false;
    if (this.ownsGuard) return;
    try {
      this.ownsGuard = tryLock(this.guardFile);
    } catch (e) {
      this.fail("guard-lock", `cannot take ${this.guardFile}: ${errorText(e)}`);
    }
    if (this.ownsGuard) this.o.log.info("rollback-owner", "this daemon owns the rollback of tries in this target");
  }

  private tryLog = (line: string) => {
    if (line.startsWith("config rollback failed")) this.fail("try-rollback-failed", line);
    else this.o.log.info("try-rollback", line);
  };

  /** Roll back a try whose deadline (or retry time) has passed — only while this daemon owns the rollback. */
  private async rollbackIfDue(): Promise<void> {
    if (!this.ownsGuard) return;
    try {
      const pending = readPendingTry(this.o.stateDir);
      if (!pending || rollbackDueAt(pending).getTime() > Date.now()) return;
      const started = performance.now();
      await resolveOverdueTry(this.o.target, this.o.stateDir, { log: this.tryLog });
      // A failed attempt is recorded in the pending try (and logged through tryLog); count by its result.
      this.metrics.recordEvent("rollback", readPendingTry(this.o.stateDir) ? "failed" : "ok", performance.now() - started);
    } catch (e) {
      this.fail("try-rollback-failed", errorText(e));
    }
  }

  /** Wake up at the pending try's deadline rather than at the next reconcile tick. */
  private scheduleTryTimer(): void {
    if (this.tryTimer) clearTimeout(this.tryTimer);
    this.tryTimer = null;
    if (!this.ownsGuard || this.stopping) return;
    let pending;
    try {
      pending = readPendingTry(this.o.stateDir);
    } catch {
      return; // reported by the reconcile
    }
    if (!pending) return;
    // Capped: setTimeout cannot wait 2^31 ms, and every reconcile reschedules this anyway.
    const wait = Math.max(0, rollbackDueAt(pending).getTime() - Date.now());
    this.tryTimer = setTimeout(() => this.kick(), Math.min(wait + 5, 60_000));
  }

  // ---- the configuration directory ----

  private async applyDirOnStart(): Promise<void> {
    const { configDir, stateDir, log } = this.o;
    let snapshot: DirSnapshot;
    try {
      snapshot = readConfigDir(configDir);
    } catch (e) {
      this.dirFailed("config-unreadable", errorText(e));
      return;
    }
    this.dirHash = snapshot.hash;
    let recorded: string | null = null;
    try {
      recorded = readDirRecord(stateDir)?.hash ?? null;
    } catch (e) {
      log.warn("daemon-record", `${errorText(e)}; applying the configuration directory`);
    }
    if (recorded === snapshot.hash && this.enforcer.view() !== null) {
      log.info("config-unchanged", `${configDir} is unchanged since the daemon last applied it: the configuration above stays`);
      return;
    }
    await this.applyDir(snapshot);
  }

  private async onDirEvent(e: ConfigDirEvent): Promise<void> {
    if (this.stopping) return;
    if (e.kind === "error") {
      this.dirHash = null;
      this.dirFailed("config-unreadable", `${e.message}; the running ruleset is kept`);
      return;
    }
    this.dirHash = e.snapshot.hash;
    this.o.log.info("config-changed", `${this.o.configDir} changed`, { files: e.snapshot.sources.map((s) => s.file) });
    await this.applyDir(e.snapshot);
  }

  private dirFailed(event: string, message: string, diagnostics: readonly DiagnosticJson[] = []): void {
    this.fail(event, message, diagnostics);
    this.dirProblem = { at: new Date().toISOString(), message, diagnostics };
  }

  /** The directory's content as a plain apply (it becomes the confirmed configuration), or its problem. */
  private async applyDir(snapshot: DirSnapshot): Promise<void> {
    const { configDir, target, stateDir, log } = this.o;
    if (snapshot.sources.length === 0) {
      this.dirFailed("config-empty", `no *.yaml or *.yml files in ${configDir}: the running ruleset is kept (remove the firewall with 'ingressfw remove')`);
      return;
    }
    const checked = checkSources(snapshot.sources, this.o.config);
    this.logDiagnostics(checked.diagnostics);
    if (!checked.valid) {
      const errors = checked.diagnostics.filter((d) => d.severity === "error").length;
      const why = errors > 0 ? `${errors} error(s)` : "warnings are treated as errors";
      this.dirFailed(
        "config-invalid",
        `${configDir}: invalid configuration (${why}): not applied, the running ruleset is kept`,
        checked.diagnostics.map(diagnosticJson),
      );
      return;
    }
    const started = performance.now();
    try {
      const candidate = await compileCandidate(target, checked, this.o.config);
      const applied = await applyConfirmed(target, stateDir, candidate, { known: this.enforcer.knownTable() });
      this.metrics.recordEvent("apply", "ok", performance.now() - started);
      this.enforcer.adopt(candidate, "confirmed");
      writeDirRecord(stateDir, configDir, snapshot.hash, new Date());
      this.dirProblem = null;
      const r = applied.result;
      log.info(
        "config-applied",
        `${r.changed ? (r.update ? "updated in place" : "applied") : "unchanged:"} table ${r.table} from ${configDir} (${r.ruleCount} rule(s)) in ${describeTarget(target)}`,
        {
          nodeAddresses: addressList(candidate.nodeAddresses),
          ...(r.update ? { updateCommands: r.update.commands } : {}),
          durationMs: Math.round(r.durationMs),
        },
      );
      if (applied.cancelledTry)
        log.info("try-cancelled", `the pending try started at ${applied.cancelledTry.startedAt} is cancelled: ${configDir} is the confirmed configuration now`);
    } catch (e) {
      this.metrics.recordEvent("apply", "failed", performance.now() - started);
      this.dirFailed("apply-failed", `${configDir}: ${errorText(e)}; the running ruleset is kept`);
    }
  }

  private logDiagnostics(diags: readonly Diagnostic[]): void {
    for (const d of diags) {
      const level = d.severity === "error" ? "error" : d.severity === "warning" ? "warn" : "info";
      this.o.log.log(level, "config-diagnostic", formatDiagnostic(d), { file: d.pos.file, line: d.pos.line, col: d.pos.col, code: d.code });
    }
  }

  // ---- the API ----

  private handlers(): DaemonHandlers {
    const { target, stateDir, config } = this.o;
    return {
      status: async () => this.status(),
      apply: (r) => this.serial.run(() => timed(this.metrics, r.mode === "try" ? "try" : "apply", () => this.apiApply(r))),
      confirm: () => this.serial.run(() => timed(this.metrics, "confirm", () => this.apiConfirm())),
      rollback: () => this.serial.run(() => timed(this.metrics, "rollback", () => this.apiRollback())),
      metrics: () => metricsPage(target, stateDir, config.table, this.metrics.snapshot(this.enforcer.stats().driftRepairs)),
    };
  }

  private requestOptions(r: ApplyRequest): ConfigOptions {
    const d = this.o.config;
    const o = r.options ?? {};
    return {
      profile: o.profile ?? d.profile,
      layout: o.layout ?? d.layout,
      table: o.table ?? d.table,
      nodeAddresses: o.nodeAddresses ? o.nodeAddresses.map((a) => parseAddress(a)!) : d.nodeAddresses,
      strict: o.strict ?? d.strict,
    };
  }

  private async apiApply(r: ApplyRequest): Promise<Outcome> {
    const { target, stateDir, log } = this.o;
    const sources: readonly SourceText[] = r.sources ?? [{ file: "<api>", text: r.config! }];
    const options = this.requestOptions(r);
    const checked = checkSources(sources, options);
    if (!checked.valid) {
      const errors = checked.diagnostics.filter((d) => d.severity === "error").length;
      log.warn("api-apply-invalid", `refused an invalid configuration (${errors} error(s)); nothing changed`);
      return {
        kind: "invalid",
        error: errors > 0 ? `invalid configuration: ${errors} error(s)` : "warnings are treated as errors (strict)",
        diagnostics: checked.diagnostics.map(diagnosticJson),
      };
    }
    const files = sources.map((s) => s.file);
    try {
      const candidate = await compileCandidate(target, checked, options);
      const base = {
        diagnostics: checked.diagnostics.map(diagnosticJson),
        nodeAddresses: candidate.nodeAddresses?.map((a) => formatAddress(a.family, a.value)) ?? null,
      };
      if (r.mode === "try") {
        const timeout = parseGoDuration(r.timeout ?? DEFAULT_TRY_TIMEOUT);
        const started = await startTry({ target, stateDir, candidate, timeout, guardian: this.ownsGuard ? null : this.o.guardianCommand, log: this.tryLog });
        this.enforcer.adopt(candidate, "try");
        this.scheduleTryTimer();
        log.info(
          "try-started",
          `applied ${files.join(", ")} in 'try' mode: rolled back at ${started.pending.deadline} (in ${formatGoDuration(timeout)}) unless confirmed`,
        );
        return {
          kind: "ok",
          body: {
            ...base,
            mode: "try",
            result: started.applied.result,
            stateFile: started.applied.stateFile,
            pending: started.pending,
            replaced: started.replaced,
          },
        };
      }
      const applied = await applyConfirmed(target, stateDir, candidate, { known: this.enforcer.knownTable() });
      this.enforcer.adopt(candidate, "confirmed");
      log.info("api-applied", `${applied.result.changed ? "applied" : "unchanged:"} table ${applied.result.table} from ${files.join(", ")}`);
      if (applied.cancelledTry) log.info("try-cancelled", `the pending try started at ${applied.cancelledTry.startedAt} is cancelled by a plain apply`);
      return { kind: "ok", body: { ...base, mode: "apply", result: applied.result, stateFile: applied.stateFile, cancelledTry: applied.cancelledTry } };
    } catch (e) {
      this.fail("api-apply-failed", errorText(e));
      return { kind: e instanceof TryError ? "conflict" : "failed", error: errorText(e) };
    }
  }

  private async apiConfirm(): Promise<Outcome> {
    try {
      const { confirmed, pending } = await confirmTry(this.o.target, this.o.stateDir);
      this.o.log.info("try-confirmed", `confirmed the try started at ${pending.startedAt}; the rollback is cancelled`);
      this.kick();
      return { kind: "ok", body: { confirmed, pending } };
    } catch (e) {
      if (e instanceof TryError) return { kind: "conflict", error: e.message };
      this.fail("try-confirm-failed", errorText(e));
      return { kind: "failed", error: errorText(e) };
    }
  }

  private async apiRollback(): Promise<Outcome> {
    try {
      const outcome = await rollbackNow(this.o.target, this.o.stateDir, { log: this.tryLog });
      this.kick();
      if (outcome.kind === "failed")
        return { kind: "failed", error: `config rollback failed ${outcome.error} (retried at ${outcome.pending.rollback.nextAttemptAt})` };
      // Not the compiled candidate: it holds bigints, and the CLI needs only what was restored.
      return { kind: "ok", body: { kind: outcome.kind, pending: outcome.pending, restored: outcome.restored, removedTables: outcome.removedTables } };
    } catch (e) {
      if (e instanceof TryError) return { kind: "conflict", error: e.message };
      this.fail("try-rollback-failed", errorText(e));
      return { kind: "failed", error: errorText(e) };
    }
  }

  status(): DaemonStatus {
    const { target, stateDir, configDir, config } = this.o;
    let pendingTry = null;
    let stateProblem: string | null = null;
    try {
      const p = readPendingTry(stateDir);
      const guardian = lockHolder(this.guardFile)?.pid ?? null;
      pendingTry = p && pendingTryView(p, join(stateDir, PENDING_TRY_FILE), new Date(), guardian === process.pid ? null : guardian);
    } catch (e) {
      if (!(e instanceof StateError)) throw e;
      stateProblem = e.message;
    }
    return {
      daemon: {
        pid: process.pid,
        startedAt: this.startedAt,
        target: { netns: target.netns ?? null },
        stateDir,
        socket: this.o.socketPath,
        options: { profile: config.profile, layout: config.layout, table: config.table },
        ownsRollback: this.ownsGuard,
      },
      active: this.enforcer.view(),
      configDir: { path: configDir, hash: this.dirHash, problem: this.dirProblem },
      pendingTry,
      stateProblem,
      enforcement: this.enforcer.stats(),
      lastError: this.lastError,
    };
  }
}
