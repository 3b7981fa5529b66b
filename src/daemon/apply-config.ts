// The apply pipeline shared by the CLI, try/rollback and the daemon:
//   sources → validate (+ lints) → node addresses (given, or discovered in the target, §5.10) → compile
//   → [the caller's lock-out guard] → one verified transaction (applyRuleset) → persisted state.
// The lock-out guard stays with the caller because its inputs (the SSH session, --keep-open) belong to
// the invoking terminal; a rollback never runs it. Every change of a target's state holds its state lock.
import { compileRuleset } from "../compile/index.js";
import { renderJson } from "../compile/nft-json.js";
import { PROFILES, type ProfileName } from "../compile/profiles.js";
import type { LayoutName, Ruleset } from "../compile/ruleset.js";
import { formatDiagnostic, hasErrors, type Diagnostic } from "../config/diagnostics.js";
import type { SourceText } from "../config/input.js";
import { lintConfig } from "../config/lint.js";
import { loadConfig } from "../config/load.js";
import type { FirewallConfig } from "../config/model.js";
import { applyRuleset, type ApplyOptions, type ApplyResult } from "../kernel/apply.js";
import { stableJson } from "../kernel/canonical.js";
import type { Target } from "../kernel/exec.js";
import { withStateLock } from "../kernel/lock.js";
import { discoverNodeAddresses } from "../kernel/node-addresses.js";
import {
  newState,
  readState,
  removeConfirmed,
  StateError,
  writeConfirmed,
  writeState,
  type ConfigSnapshot,
  type ConfirmedState,
  type NodeAddressSource,
} from "../kernel/state.js";
import { readPendingTry, removePendingTry, type PendingTry } from "../kernel/try-state.js";
import { formatAddress, parseAddress, type Address } from "../net/address.js";

export interface ConfigOptions {
  readonly profile: ProfileName;
  readonly layout: LayoutName;
  readonly table: string;
  /** Given node addresses (--node-address); absent: discovered in the target when compiling. */
  readonly nodeAddresses?: readonly Address[] | undefined;
  /** Warnings count as errors. */
  readonly strict?: boolean | undefined;
  /** Lints also emit notes. */
  readonly verbose?: boolean | undefined;
}

export interface CheckedSources {
  readonly config: FirewallConfig;
  readonly diagnostics: readonly Diagnostic[];
  /** No errors, and no warnings under `strict`. */
  readonly valid: boolean;
  readonly sources: readonly SourceText[];
}

/** Decode, validate and lint (pure). Lints run only on a configuration without errors. */
export function checkSources(sources: readonly SourceText[], opts: Pick<ConfigOptions, "profile" | "strict" | "verbose">): CheckedSources {
  const loaded = loadConfig(sources);
  const errors = hasErrors(loaded.diagnostics);
  const lints = errors ? [] : lintConfig(loaded.config, { profile: opts.profile, verbose: opts.verbose ?? false });
  const diagnostics = [...loaded.diagnostics, ...lints];
  const valid = !errors && !(opts.strict && lints.some((d) => d.severity === "warning"));
  return { config: loaded.config, diagnostics, valid, sources };
}

/** The configuration does not validate; nothing was changed. */
export class InvalidConfigError extends Error {
  constructor(readonly diagnostics: readonly Diagnostic[]) {
    const errors = diagnostics.filter((d) => d.severity === "error");
    const first = errors[0] ?? diagnostics.find((d) => d.severity === "warning");
    super(
      `invalid configuration: ${errors.length > 0 ? `${errors.length} error(s)` : "warnings are treated as errors"}${first ? `; first: ${formatDiagnostic(first)}` : ""}`,
    );
  }
}

export interface Candidate {
  readonly ruleset: Ruleset;
  readonly sources: readonly SourceText[];
  readonly diagnostics: readonly Diagnostic[];
  /** The addresses the prerouting chain was compiled with; null when the profile has no such chain. */
  readonly nodeAddresses: readonly Address[] | null;
  readonly nodeAddressSource: NodeAddressSource;
  readonly options: ConfigOptions;
}

/** Compile checked sources for the target; node addresses are discovered there unless given (§5.10). */
export async function compileCandidate(target: Target, checked: CheckedSources, opts: ConfigOptions): Promise<Candidate> {
  if (!checked.valid) throw new InvalidConfigError(checked.diagnostics);
  const profile = PROFILES[opts.profile];
  let nodeAddresses: readonly Address[] | null = null;
  let nodeAddressSource: NodeAddressSource = "none";
  if (opts.nodeAddresses) {
    nodeAddresses = opts.nodeAddresses;
    nodeAddressSource = "given";
  } else if (profile.prerouting) {
    nodeAddresses = await discoverNodeAddresses(target, checked.config.main, profile);
    nodeAddressSource = "discovered";
  }
  const ruleset = compileRuleset(checked.config, { profile: opts.profile, layout: opts.layout, table: opts.table, nodeAddresses });
  return { ruleset, sources: checked.sources, diagnostics: checked.diagnostics, nodeAddresses, nodeAddressSource, options: opts };
}

/** checkSources + compileCandidate; an invalid configuration is an InvalidConfigError. */
export function prepareCandidate(target: Target, sources: readonly SourceText[], opts: ConfigOptions): Promise<Candidate> {
  return compileCandidate(target, checkSources(sources, opts), opts);
}

/** The configuration as given, to be compiled again later (a rollback, a confirm, boot). */
export function snapshotOf(c: Candidate): ConfigSnapshot {
  const given = c.nodeAddressSource === "given" ? c.nodeAddresses : null;
  return {
    sources: c.sources.map((s) => ({ file: s.file, text: s.text })),
    options: {
      profile: c.options.profile,
      layout: c.options.layout,
      table: c.options.table,
      nodeAddresses: given ? given.map((a) => formatAddress(a.family, a.value)) : null,
    },
  };
}

/** The options a snapshot was taken with (not strict: a configuration once applied is applied again). */
export function optionsOf(s: ConfigSnapshot): ConfigOptions {
  const given = s.options.nodeAddresses?.map((text) => {
    const a = parseAddress(text);
    if (!a) throw new StateError("invalid", `saved node address ${JSON.stringify(text)} is not an IP address`);
    return a;
  });
  return { profile: s.options.profile, layout: s.options.layout, table: s.options.table, nodeAddresses: given };
}

export interface Applied {
  readonly result: ApplyResult;
  readonly candidate: Candidate;
  /** state.json */
  readonly stateFile: string;
}

/**
 * Apply the candidate and record it in state.json. The caller holds the state lock. A failure to write
 * the state after the kernel took the ruleset is a StateError saying so.
 */
export async function applyCandidate(target: Target, stateDir: string, candidate: Candidate, opts: ApplyOptions = {}): Promise<Applied> {
  const result = await applyRuleset(target, candidate.ruleset, opts);
  return { result, candidate, stateFile: recordApplied(target, stateDir, candidate, result) };
}

/** Write state.json for a ruleset the kernel now holds; an unchanged table keeps its first apply time. */
export function recordApplied(target: Target, stateDir: string, candidate: Candidate, result: ApplyResult): string {
  try {
    let previous = null;
    try {
      previous = readState(stateDir);
    } catch {
      // an unreadable or invalid previous state is replaced
    }
    // Unchanged table: it has been in place since the previous apply of the same transaction.
    const sameAsBefore = !result.changed && previous !== null && stableJson(previous.ruleset.transaction) === stableJson(renderJson(candidate.ruleset));
    const appliedAt = sameAsBefore ? new Date(previous!.appliedAt) : new Date();
    return writeState(stateDir, newState({ target, ...candidate, appliedAt }));
  } catch (e) {
    if (e instanceof StateError) throw new StateError(e.kind, `table ${result.table} was applied, but ${e.message}`);
    throw e;
  }
}

export function confirmedOf(target: Target, config: ConfigSnapshot, at: Date): ConfirmedState {
  return { version: 1, confirmedAt: at.toISOString(), target: { netns: target.netns ?? null }, config };
}

/** Remove the pending try (an unreadable one too); returns it when it could be read. */
function cancelPendingTry(stateDir: string): PendingTry | null {
  let pending: PendingTry | null = null;
  try {
    pending = readPendingTry(stateDir);
  } catch {
    // an invalid pending try is cancelled all the same
  }
  removePendingTry(stateDir);
  return pending;
}

export interface AppliedConfirmed extends Applied {
  /** confirmed.json */
  readonly confirmedFile: string;
  /** The try this apply cancelled (semantics §7.3: a plain apply confirms its own configuration). */
  readonly cancelledTry: PendingTry | null;
}

/**
 * A plain (non-try) apply: apply, record, persist as the confirmed configuration, and cancel a pending
 * try — its rollback would otherwise undo this apply.
 */
export function applyConfirmed(target: Target, stateDir: string, candidate: Candidate, opts: ApplyOptions = {}): Promise<AppliedConfirmed> {
  return withStateLock(stateDir, async () => {
    const applied = await applyCandidate(target, stateDir, candidate, opts);
    try {
      const confirmedFile = writeConfirmed(stateDir, confirmedOf(target, snapshotOf(candidate), new Date()));
      const cancelledTry = cancelPendingTry(stateDir);
      return { ...applied, confirmedFile, cancelledTry };
    } catch (e) {
      if (e instanceof StateError) throw new StateError(e.kind, `table ${applied.result.table} was applied, but ${e.message}`);
      throw e;
    }
  });
}

/**
 * Forget the confirmed configuration and cancel a pending try (for `remove`: nothing may re-apply what
 * the user removed). Returns the try that was pending, if any.
 */
export function forgetConfirmed(stateDir: string): Promise<{ cancelledTry: PendingTry | null; removedConfirmed: boolean }> {
  return withStateLock(stateDir, () => {
    const cancelledTry = cancelPendingTry(stateDir);
    return { cancelledTry, removedConfirmed: removeConfirmed(stateDir) };
  });
}
