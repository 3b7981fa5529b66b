// The lock-out guard of `apply`: its options, where protected connections come from (--keep-open,
// --keep-open-file, INGRESSFW_KEEP_OPEN, SSH_CONNECTION), and the refusal. The logic is in
// src/evaluate/lockout.ts.
import { readFileSync } from "node:fs";
import { InvalidArgumentError, type Command } from "commander";
import type { Ruleset } from "../compile/ruleset.js";
import { LiveReadError, readLocalAddresses } from "../evaluate/live.js";
import {
  findLockouts,
  keepOpenProtected,
  lockoutText,
  LockoutInputError,
  parseKeepOpen,
  parseKeepOpenFile,
  parseKeepOpenList,
  parseSshConnection,
  sshProtected,
  type KeepOpen,
  type Protected,
} from "../evaluate/lockout.js";
import { describeTarget, type Target } from "../kernel/exec.js";
import { formatAddress, type Address } from "../net/address.js";
import { EXIT, UserError } from "./exit-codes.js";

export const KEEP_OPEN_ENV = "INGRESSFW_KEEP_OPEN";

export interface LockoutOptions {
  keepOpen?: KeepOpen[];
  keepOpenFile?: string;
  force?: boolean;
  verbose?: boolean;
}

function collectKeepOpen(v: string, prev: KeepOpen[] = []): KeepOpen[] {
  try {
    return [...prev, ...parseKeepOpen(v)];
  } catch (e) {
    if (e instanceof LockoutInputError) throw new InvalidArgumentError(e.message);
    throw e;
  }
}

export function addLockoutOptions(cmd: Command): Command {
  return cmd
    .option("--keep-open <entry>", "PROTO:CIDR:PORT that must still get in after the apply (Calico failsafe syntax; repeatable)", collectKeepOpen)
    .option("--keep-open-file <file>", "more --keep-open entries, one per line (# comments)")
    .option("--force", "apply even when the lock-out guard finds connections the candidate would drop");
}

export const LOCKOUT_HELP = `
Lock-out guard: before anything is sent, the candidate is evaluated for new connections that must
still get in; if it would drop any, apply refuses (exit 3), names the rule (document and
file:line:col) or the chain policy that drops them, and changes nothing. --force applies anyway
(with a warning). Checked are:
  - the current SSH session ($SSH_CONNECTION: a new TCP connection from its client address to its
    server address and port), when that server address is local to the target;
  - every --keep-open PROTO:CIDR:PORT, from every source address in CIDR, to every node address of
    its family (a documentation address when none is known), arriving on an untrusted interface.
    The syntax is Calico's failsafe syntax: tcp:10.0.0.0/8:22, udp:192.168.1.1:53, IPv6 in brackets
    tcp:[fd00::/8]:22 (tcp:[::]/0:22 and tcp:::/0:22 work too); tcp:22 or 22 mean every source of
    both families. PROTO is tcp or udp.
Entries also come from --keep-open-file FILE (one per line, # comments) and ${KEEP_OPEN_ENV}
(comma-separated, e.g. ${KEEP_OPEN_ENV}=tcp:10.0.0.0/8:22,udp:10.0.0.0/8:53).`;

function readKeepOpen(opts: LockoutOptions, env: NodeJS.ProcessEnv): KeepOpen[] {
  const entries = [...(opts.keepOpen ?? [])];
  try {
    if (opts.keepOpenFile !== undefined) {
      let text: string;
      try {
        text = readFileSync(opts.keepOpenFile, "utf8");
      } catch (e) {
        throw new UserError(`cannot read --keep-open-file ${opts.keepOpenFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, EXIT.USAGE);
      }
      entries.push(...parseKeepOpenFile(text, opts.keepOpenFile));
    }
    const fromEnv = env[KEEP_OPEN_ENV];
    if (fromEnv) entries.push(...parseKeepOpenList(fromEnv, KEEP_OPEN_ENV));
  } catch (e) {
    if (e instanceof LockoutInputError) throw new UserError(e.message, EXIT.USAGE);
    throw e;
  }
  return entries;
}

const LIVE_EXIT: Record<LiveReadError["kind"], number> = {
  "tool-missing": EXIT.NFT_MISSING,
  "no-permission": EXIT.NO_PERMISSION,
  "unknown-netns": EXIT.USAGE,
  failed: EXIT.FAILURE,
};

async function localAddresses(target: Target) {
  try {
    return await readLocalAddresses(target);
  } catch (e) {
    if (e instanceof LiveReadError) throw new UserError(e.message, LIVE_EXIT[e.kind]);
    throw e;
  }
}

/** The SSH session to protect, or null (none, malformed — with a warning — or ending outside the target). */
async function sshSubject(target: Target, opts: LockoutOptions, env: NodeJS.ProcessEnv): Promise<Protected | null> {
  const value = env.SSH_CONNECTION;
  if (!value) return null;
  let session;
  try {
    session = parseSshConnection(value);
  } catch (e) {
    if (!(e instanceof LockoutInputError)) throw e;
    process.stderr.write(`ingressfw: warning: ${e.message}: the SSH session is not checked\n`);
    return null;
  }
  const subject = sshProtected(session, await localAddresses(target));
  // Another namespace's session is no concern of this ruleset; on the host that is unusual enough to say.
  if (subject === null && (target.netns === undefined || opts.verbose)) {
    const server = formatAddress(session.server.family, session.server.value);
    process.stderr.write(
      `ingressfw: note: the SSH session (SSH_CONNECTION "${session.text}") ends at ${server}, not an address of ${describeTarget(target)}: not checked\n`,
    );
  }
  return subject;
}

/**
 * Refuse (exit 3) when the ruleset would drop a protected connection; with --force, warn and go on.
 * `nodeAddresses` are those the ruleset was compiled with.
 */
export async function guardLockout(
  target: Target,
  candidate: { readonly ruleset: Ruleset; readonly nodeAddresses: readonly Address[] | null },
  opts: LockoutOptions,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  const subjects = readKeepOpen(opts, env).map((k) => keepOpenProtected(k, candidate.nodeAddresses));
  const ssh = await sshSubject(target, opts, env);
  if (ssh) subjects.unshift(ssh);
  const lockouts = findLockouts(candidate.ruleset, subjects);
  if (lockouts.length === 0) return;
  for (const l of lockouts) process.stderr.write(`ingressfw: ${opts.force ? "warning: --force: applying although " : "lock-out: "}${lockoutText(l)}\n`);
  if (!opts.force) {
    throw new UserError(
      `refusing to apply to ${describeTarget(target)}: the candidate would drop ${lockouts.length} protected connection group(s) listed above; nothing was changed (--force applies anyway)`,
      EXIT.LOCKOUT,
    );
  }
}
