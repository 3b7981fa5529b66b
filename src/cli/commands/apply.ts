import { existsSync } from "node:fs";
import { join } from "node:path";
import { InvalidArgumentError, type Command } from "commander";
import { type ProfileName } from "../../compile/profiles.js";
import { DEFAULT_TABLE, type LayoutName } from "../../compile/ruleset.js";
import { applyConfirmed, compileCandidate, InvalidConfigError, type Candidate } from "../../daemon/apply-config.js";
import { confirmTry, rollbackNow, startTry, TryError } from "../../daemon/try.js";
import { formatAddress, type Address } from "../../net/address.js";
import type { ApplyResult } from "../../kernel/apply.js";
import { describeTarget, KernelError, type Target } from "../../kernel/exec.js";
import { ListingError } from "../../kernel/nft-listing.js";
import { defaultStateDir, StateError } from "../../kernel/state.js";
import { EXIT, UserError } from "../exit-codes.js";
import { loadInput } from "../load-input.js";
import { APPLY_LAYOUT_HELP, applyLayout, choice, collectAddress, parseLayout, parseProfile, parseTableName } from "../options.js";
import { addLockoutOptions, guardLockout, LOCKOUT_HELP, type LockoutOptions } from "../lockout-guard.js";
import { cliCommand, confirmedText, confirmMessage, DEFAULT_TRY_TIMEOUT, parseTimeout, promptConfirm, rollbackText, settleTry } from "../safe-apply.js";
import { formatGoDuration } from "../../daemon/go-duration.js";
import { addSocketOption, daemonFor, type SocketOptions } from "../daemon-route.js";

export type { Candidate };

// Shared by the kernel commands (apply, diff, status, remove).

/** Where `ip netns` keeps named namespaces. */
const NETNS_DIR = "/var/run/netns";

export function parseNetnsName(v: string): string {
  if (!/^[A-Za-z0-9_.-]{1,255}$/.test(v) || v === "." || v === "..") throw new InvalidArgumentError("a namespace name has letters, digits, _ . - only");
  return v;
}

export interface TargetOptions {
  netns?: string;
  stateDir?: string;
}

/** The target of a command; a namespace `ip netns` does not know is a usage error (exit 64). */
export function targetOf(opts: TargetOptions): Target {
  if (opts.netns === undefined) return {};
  if (!existsSync(join(NETNS_DIR, opts.netns)))
    throw new UserError(`unknown network namespace ${JSON.stringify(opts.netns)} (see 'ip netns list')`, EXIT.USAGE);
  return { netns: opts.netns };
}

export function stateDirOf(opts: TargetOptions, target: Target): string {
  return opts.stateDir ?? defaultStateDir(target);
}

const KERNEL_EXIT: Record<KernelError["kind"], number> = {
  "nft-missing": EXIT.NFT_MISSING,
  "ip-missing": EXIT.NFT_MISSING,
  "no-permission": EXIT.NO_PERMISSION,
  "unknown-netns": EXIT.USAGE,
  rejected: EXIT.FAILURE,
  mismatch: EXIT.FAILURE,
  failed: EXIT.FAILURE,
};

const oneLine = (s: string) => s.replace(/\s*\n\s*/g, "; ");

/** Kernel, state and listing errors as one-line UserErrors with their documented exit codes. */
export function asUserError(e: unknown, context = ""): unknown {
  if (e instanceof KernelError) return new UserError(oneLine(context + e.message), KERNEL_EXIT[e.kind]);
  if (e instanceof StateError) return new UserError(oneLine(context + e.message), e.kind === "no-permission" ? EXIT.NO_PERMISSION : EXIT.FAILURE);
  if (e instanceof ListingError) return new UserError(oneLine(context + e.message), EXIT.FAILURE);
  if (e instanceof TryError) return new UserError(oneLine(context + e.message), EXIT.FAILURE);
  if (e instanceof InvalidConfigError) return new UserError(oneLine(context + e.message), EXIT.BAD_CONFIG);
  return e;
}

export async function kernelCall<T>(fn: () => Promise<T> | T, context = ""): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw asUserError(e, context);
  }
}

export interface CompileCliOptions extends TargetOptions {
  profile: ProfileName;
  /** Absent: applyLayout's default for the profile. */
  layout?: LayoutName;
  table: string;
  nodeAddress?: Address[];
  strict?: boolean;
  verbose?: boolean;
}

export function addTargetOption(cmd: Command): Command {
  return cmd.option("--netns <name>", "a network namespace 'ip netns' knows (default: the host)", parseNetnsName);
}

export function addCompileOptions(cmd: Command): Command {
  return addTargetOption(cmd)
    .option("--profile <profile>", "talos (Talos v1.14) or talos-1.7 (the documented v1.7 output)", parseProfile, "talos")
    .option("--layout <layout>", APPLY_LAYOUT_HELP, parseLayout)
    .option("--table <name>", "table name (family inet)", parseTableName, DEFAULT_TABLE)
    .option("--node-address <ip>", "a node address for the prerouting chain (repeatable; default: discovered in the target)", collectAddress)
    .option("--strict", "treat warnings as errors")
    .option("-v, --verbose", "also print notes");
}

/** Load and validate (diagnostics to stderr, exit 65 when invalid), then compile for the target. */
export async function prepareCandidate(target: Target, inputs: readonly string[], opts: CompileCliOptions): Promise<Candidate> {
  const checked = loadInput(inputs, opts);
  const options = {
    profile: opts.profile,
    layout: applyLayout(opts.profile, opts.layout),
    table: opts.table,
    nodeAddresses: opts.nodeAddress,
    strict: opts.strict,
  };
  return kernelCall(() => compileCandidate(target, checked, options));
}

/** Which node addresses the prerouting chain was built with; null when the ruleset has no such chain. */
export function nodeAddressLine(c: Candidate, target: Target): string | null {
  if (c.nodeAddresses === null || !c.ruleset.chains.some((ch) => ch.base.hook === "prerouting")) return null;
  const list = c.nodeAddresses.length ? c.nodeAddresses.map((a) => formatAddress(a.family, a.value)).join(", ") : "none";
  return `node addresses (${c.nodeAddressSource === "given" ? "given" : `discovered in ${describeTarget(target)}`}): ${list}`;
}

function summary(r: ApplyResult, target: Target): string {
  const regular = r.regularChains > 0 ? ` and ${r.regularChains} regular chain(s)` : "";
  const chains = r.chains.length ? r.chains.map((c) => `${c.name} ${c.rules} rule(s)`).join(", ") + regular : "no chains";
  const ms = `${Math.round(r.durationMs)} ms`;
  if (!r.changed) return `unchanged: table ${r.table} in ${describeTarget(target)} already matches (${chains}); nothing sent, counters kept (${ms})`;
  if (r.update) {
    const u = r.update;
    return `updated table ${r.table} in ${describeTarget(target)} in place: ${u.commands} command(s) in one transaction touching ${u.chains} chain(s) and ${u.sets} set(s) or map(s), the rest and its counters kept; now ${chains}; verified by read-back (${ms})`;
  }
  return `applied table ${r.table} to ${describeTarget(target)}: ${chains}; ${r.ruleCount} rule(s) in one transaction, verified by read-back (${ms})`;
}

interface ApplyCliOptions extends CompileCliOptions, LockoutOptions, SocketOptions {
  mode: "auto" | "try";
  timeout?: bigint;
  prompt?: boolean;
}

export function registerApply(program: Command): void {
  const cmd = program
    .command("apply")
    .description("validate, compile and apply the firewall to the host or a network namespace (one atomic transaction)")
    .argument("<input...>", "YAML files, directories or - for stdin");
  addSocketOption(addLockoutOptions(addCompileOptions(cmd)))
    .option("--mode <mode>", "auto (apply and keep) or try (roll back after --timeout unless confirmed)", choice(["auto", "try"] as const), "auto")
    .option("--timeout <duration>", "with --mode try: when to roll back, as a Go duration (30s, 1m30s, 2h; default 1m)", parseTimeout)
    .option("--prompt", "with --mode try, in a terminal: wait for y (confirm now) or n (roll back now) until the deadline")
    .option("--state-dir <dir>", "where the last applied state is kept (default /var/lib/ingressfw/<netns or host>)")
    .addHelpText(
      "after",
      `
Only ingressfw's table (inet talos unless --table) is replaced, in one nftables transaction; other
tables are never touched. The table is read back and compared with what was compiled. Applying the
same configuration again sends nothing and keeps the counters.
The layout is port-map unless --layout says otherwise (per-rule with --profile talos-1.7): per
protocol, a verdict map from destination ports to one chain per document, with the same verdicts
as Talos's one-rule-per-document layout and per-document counters (README, "Layouts").
${LOCKOUT_HELP}

Try mode (as talosctl apply-config --mode try): the configuration is applied now and rolled back to
the last confirmed one after --timeout unless 'ingressfw confirm' keeps it ('ingressfw rollback'
reverts at once). The rollback is owned by a detached guardian process (or the daemon), so it
happens even when this command, its terminal or its SSH connection dies. A plain apply during the
window confirms its own configuration; a second try replaces the candidate and restarts the timer,
and still rolls back to the last confirmed configuration (no table when nothing was confirmed).

Exit codes: 0 applied or unchanged, 1 kernel rejection or read-back mismatch, 3 refused by the
lock-out guard, 64 usage (also an unknown --netns), 65 invalid configuration, 69 nft missing,
77 no permission.

Examples:
  ingressfw apply controlplane.yaml
  ingressfw apply --netns lab-node1 --node-address 10.5.0.2 rules/
  ingressfw apply --keep-open tcp:10.0.0.0/8:22 --keep-open tcp:[fd00::/8]:22 controlplane.yaml
  ingressfw apply --mode try --timeout 2m controlplane.yaml && ingressfw confirm`,
    )
    .action(async (inputs: string[], opts: ApplyCliOptions) => {
      if (opts.timeout !== undefined && opts.mode !== "try") throw new UserError("--timeout is only for --mode try", EXIT.USAGE);
      if (opts.prompt && opts.mode !== "try") throw new UserError("--prompt is only for --mode try", EXIT.USAGE);
      if (opts.prompt && !(process.stdin.isTTY && process.stdout.isTTY)) throw new UserError("--prompt needs a terminal", EXIT.USAGE);
      const target = targetOf(opts);
      const dir = stateDirOf(opts, target);
      // A daemon serving the target owns its table and the try's rollback: the change goes through it.
      const daemon = await daemonFor(target, opts);
      if (!daemon) await kernelCall(() => settleTry(target, dir));
      const candidate = await prepareCandidate(target, inputs, opts);
      await guardLockout(target, candidate, opts);
      const nodeLine = nodeAddressLine(candidate, target);
      if (opts.mode === "try") {
        const timeout = opts.timeout ?? DEFAULT_TRY_TIMEOUT;
        const started = daemon
          ? await daemon.startTry(candidate, timeout)
          : await kernelCall(() => startTry({ target, stateDir: dir, candidate, timeout, guardian: cliCommand() }));
        if (nodeLine) process.stdout.write(`${nodeLine}\n`);
        const { pending, replaced } = started;
        const flags = `${target.netns ? ` --netns ${target.netns}` : ""}${opts.stateDir ? ` --state-dir ${opts.stateDir}` : ""}${opts.socket ? ` --socket ${opts.socket}` : ""}`;
        process.stdout.write(
          [
            summary(started.applied.result, target),
            `state: ${started.applied.stateFile}`,
            ...(replaced ? [`replaced the try started at ${replaced.startedAt}; the rollback target stays the last confirmed state`] : []),
            `The config is applied in 'try' mode and will be automatically reverted back in ${formatGoDuration(timeout)}`,
            `rollback at ${pending.deadline} to ${confirmedText(pending.rollbackTarget, candidate.ruleset.table)}`,
            `keep it: ingressfw confirm${flags}; revert now: ingressfw rollback${flags}`,
          ].join("\n") + "\n",
        );
        if (opts.prompt) {
          await promptConfirm(new Date(pending.deadline), {
            confirm: async () => confirmMessage(target, daemon ? await daemon.confirm() : await kernelCall(() => confirmTry(target, dir))),
            rollback: async () => {
              const outcome = daemon ? await daemon.rollback() : await kernelCall(() => rollbackNow(target, dir));
              const text = `${describeTarget(target)}: ${rollbackText(outcome)}`;
              if (outcome.kind === "failed") throw new UserError(text, EXIT.FAILURE);
              return text;
            },
          });
        }
        return;
      }
      const applied = daemon ? await daemon.apply(candidate) : await kernelCall(() => applyConfirmed(target, dir, candidate));
      if (nodeLine) process.stdout.write(`${nodeLine}\n`);
      process.stdout.write(`${summary(applied.result, target)}\nstate: ${applied.stateFile}\n`);
      if (applied.cancelledTry) {
        process.stdout.write(`the pending try (started ${applied.cancelledTry.startedAt}) is cancelled: this configuration is the confirmed one now\n`);
      }
    });
}
