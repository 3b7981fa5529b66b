import { existsSync } from "node:fs";
import { join } from "node:path";
import { InvalidArgumentError, type Command } from "commander";
import type { SourceText } from "../../config/input.js";
import { compileRuleset } from "../../compile/index.js";
import { renderJson } from "../../compile/nft-json.js";
import { PROFILES, type ProfileName } from "../../compile/profiles.js";
import { DEFAULT_TABLE, type LayoutName, type Ruleset } from "../../compile/ruleset.js";
import { formatAddress, type Address } from "../../net/address.js";
import { applyRuleset, type ApplyResult } from "../../kernel/apply.js";
import { stableJson } from "../../kernel/canonical.js";
import { describeTarget, KernelError, type Target } from "../../kernel/exec.js";
import { ListingError } from "../../kernel/nft-listing.js";
import { discoverNodeAddresses } from "../../kernel/node-addresses.js";
import { defaultStateDir, newState, readState, StateError, writeState, type NodeAddressSource } from "../../kernel/state.js";
import { EXIT, UserError } from "../exit-codes.js";
import { loadInput } from "../load-input.js";
import { collectAddress, parseLayout, parseProfile, parseTableName } from "../options.js";
import { addLockoutOptions, guardLockout, LOCKOUT_HELP, type LockoutOptions } from "../lockout-guard.js";

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
  layout: LayoutName;
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
    .option("--layout <layout>", "kernel layout: per-rule (one rule per document, as Talos builds it)", parseLayout, "per-rule")
    .option("--table <name>", "table name (family inet)", parseTableName, DEFAULT_TABLE)
    .option("--node-address <ip>", "a node address for the prerouting chain (repeatable; default: discovered in the target)", collectAddress)
    .option("--strict", "treat warnings as errors")
    .option("-v, --verbose", "also print notes");
}

export interface Candidate {
  readonly ruleset: Ruleset;
  readonly sources: readonly SourceText[];
  readonly nodeAddresses: readonly Address[] | null;
  readonly nodeAddressSource: NodeAddressSource;
}

/** Load, validate and compile; node addresses come from --node-address or the target's up links (§5.10). */
export async function prepareCandidate(target: Target, inputs: readonly string[], opts: CompileCliOptions): Promise<Candidate> {
  const { config, sources } = loadInput(inputs, opts);
  const profile = PROFILES[opts.profile];
  let nodeAddresses: readonly Address[] | null = null;
  let nodeAddressSource: NodeAddressSource = "none";
  if (opts.nodeAddress) {
    nodeAddresses = opts.nodeAddress;
    nodeAddressSource = "given";
  } else if (profile.prerouting) {
    nodeAddresses = await kernelCall(() => discoverNodeAddresses(target, config.main, profile));
    nodeAddressSource = "discovered";
  }
  const ruleset = compileRuleset(config, { profile: opts.profile, layout: opts.layout, table: opts.table, nodeAddresses });
  return { ruleset, sources, nodeAddresses, nodeAddressSource };
}

/** Which node addresses the prerouting chain was built with; null when the ruleset has no such chain. */
export function nodeAddressLine(c: Candidate, target: Target): string | null {
  if (c.nodeAddresses === null || !c.ruleset.chains.some((ch) => ch.base.hook === "prerouting")) return null;
  const list = c.nodeAddresses.length ? c.nodeAddresses.map((a) => formatAddress(a.family, a.value)).join(", ") : "none";
  return `node addresses (${c.nodeAddressSource === "given" ? "given" : `discovered in ${describeTarget(target)}`}): ${list}`;
}

function summary(r: ApplyResult, target: Target): string {
  const chains = r.chains.length ? r.chains.map((c) => `${c.name} ${c.rules} rule(s)`).join(", ") : "no chains";
  const ms = `${Math.round(r.durationMs)} ms`;
  return r.changed
    ? `applied table ${r.table} to ${describeTarget(target)}: ${chains}; ${r.ruleCount} rule(s) in one transaction, verified by read-back (${ms})`
    : `unchanged: table ${r.table} in ${describeTarget(target)} already matches (${chains}); nothing sent, counters kept (${ms})`;
}

export function registerApply(program: Command): void {
  const cmd = program
    .command("apply")
    .description("validate, compile and apply the firewall to the host or a network namespace (one atomic transaction)")
    .argument("<input...>", "YAML files, directories or - for stdin");
  addLockoutOptions(addCompileOptions(cmd))
    .option("--state-dir <dir>", "where the last applied state is kept (default /var/lib/ingressfw/<netns or host>)")
    .addHelpText(
      "after",
      `
Only ingressfw's table (inet talos unless --table) is replaced, in one nftables transaction; other
tables are never touched. The table is read back and compared with what was compiled. Applying the
same configuration again sends nothing and keeps the counters.
${LOCKOUT_HELP}

Exit codes: 0 applied or unchanged, 1 kernel rejection or read-back mismatch, 3 refused by the
lock-out guard, 64 usage (also an unknown --netns), 65 invalid configuration, 69 nft missing,
77 no permission.

Examples:
  ingressfw apply controlplane.yaml
  ingressfw apply --netns lab-node1 --node-address 10.5.0.2 rules/
  ingressfw apply --keep-open tcp:10.0.0.0/8:22 --keep-open tcp:[fd00::/8]:22 controlplane.yaml`,
    )
    .action(async (inputs: string[], opts: CompileCliOptions & LockoutOptions) => {
      const target = targetOf(opts);
      const candidate = await prepareCandidate(target, inputs, opts);
      await guardLockout(target, candidate, opts);
      const result = await kernelCall(() => applyRuleset(target, candidate.ruleset));
      const dir = stateDirOf(opts, target);
      const written = await kernelCall(() => {
        let previous = null;
        try {
          previous = readState(dir);
        } catch {
          // an unreadable or invalid previous state is replaced
        }
        // Unchanged table: it has been in place since the previous apply of the same transaction.
        const sameAsBefore = !result.changed && previous !== null && stableJson(previous.ruleset.transaction) === stableJson(renderJson(candidate.ruleset));
        const appliedAt = sameAsBefore ? new Date(previous!.appliedAt) : new Date();
        return writeState(dir, newState({ target, ...candidate, appliedAt }));
      }, `table ${result.table} was applied, but `);
      const nodeLine = nodeAddressLine(candidate, target);
      if (nodeLine) process.stdout.write(`${nodeLine}\n`);
      process.stdout.write(`${summary(result, target)}\nstate: ${written}\n`);
    });
}
