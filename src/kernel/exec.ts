// Running nft and ip without a shell, on the host or inside a named network namespace
// (`ip netns exec NAME …`). Failures a user can cause become typed errors.
import { spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Target {
  /** A namespace `ip netns` knows by this name; undefined for the host's namespace. */
  readonly netns?: string;
}

export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export type KernelErrorKind =
  | "nft-missing"
  | "ip-missing"
  | "no-permission"
  | "unknown-netns"
  /** The kernel (or nft) refused a transaction; nothing was changed. */
  | "rejected"
  /** The table read back after an apply differs from what was sent. */
  | "mismatch"
  | "failed";

export class KernelError extends Error {
  constructor(
    readonly kind: KernelErrorKind,
    message: string,
  ) {
    super(message);
  }
}

export function describeTarget(t: Target): string {
  return t.netns ? `network namespace ${JSON.stringify(t.netns)}` : "the host";
}

/**
 * Standard input for a child as a file descriptor. Node's "pipe" is a socket, and `nft -f -` opens
 * /dev/stdin, which fails on a socket (ENXIO); an unlinked private temp file opens fine.
 */
function inputFd(input: string): number {
  const dir = mkdtempSync(join(tmpdir(), "ingressfw-"));
  const file = join(dir, "input");
  try {
    writeFileSync(file, input, { mode: 0o600 });
    return openSync(file, "r");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Run a program with arguments (never through a shell), optionally feeding stdin. */
export function run(cmd: string, args: readonly string[], input?: string, timeoutMs = 120_000): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const stdin = input === undefined ? "ignore" : inputFd(input);
    const closeInput = () => {
      if (typeof stdin === "number") closeSync(stdin);
    };
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(cmd, args, { stdio: [stdin, "pipe", "pipe"], timeout: timeoutMs });
    } catch (e) {
      closeInput();
      throw e;
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on("data", (b: Buffer) => out.push(b));
    child.stderr?.on("data", (b: Buffer) => err.push(b));
    child.on("error", (e) => {
      closeInput();
      reject(e);
    });
    child.on("close", (code, signal) => {
      closeInput();
      resolve({ code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") });
    });
  });
}

const CAP_NET_ADMIN = 12;

/** Whether this process holds CAP_NET_ADMIN (effective set), read from /proc; false when unknown. */
export function hasNetAdmin(): boolean {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "utf8"));
    return m !== null && ((BigInt(`0x${m[1]}`) >> BigInt(CAP_NET_ADMIN)) & 1n) === 1n;
  } catch {
    return false;
  }
}

const NFT_MISSING = "nft not found: install nftables (Debian/Ubuntu: apt-get install nftables)";

function classify(stderr: string, target: Target): KernelError | null {
  if (target.netns && /Cannot open network namespace .*: No such file/.test(stderr)) {
    return new KernelError("unknown-netns", `unknown network namespace ${JSON.stringify(target.netns)} (see 'ip netns list')`);
  }
  // With CAP_NET_ADMIN, EPERM on a change comes from the table's owner flag, not from missing rights.
  if (/Could not process rule: Operation not permitted/.test(stderr) && hasNetAdmin()) {
    return new KernelError(
      "rejected",
      `the kernel refused the change in ${describeTarget(target)} (Operation not permitted although ingressfw has CAP_NET_ADMIN): the table is probably owned by another process ('flags owner' in 'nft list table')`,
    );
  }
  if (/Operation not permitted|Permission denied/i.test(stderr)) {
    return new KernelError("no-permission", `no permission to use nftables in ${describeTarget(target)}: run as root (needs CAP_NET_ADMIN)`);
  }
  return null;
}

/** Run a command inside the target namespace. ENOENT and permission/namespace failures become KernelErrors. */
export async function runIn(target: Target, cmd: string, args: readonly string[], input?: string): Promise<ExecResult> {
  const [file, argv] = target.netns ? ["ip", ["netns", "exec", target.netns, cmd, ...args]] : [cmd, [...args]];
  let res: ExecResult;
  try {
    res = await run(file, argv, input);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") {
      if (file === "nft") throw new KernelError("nft-missing", NFT_MISSING);
      throw new KernelError("ip-missing", "ip not found: install iproute2 (Debian/Ubuntu: apt-get install iproute2)");
    }
    throw e;
  }
  if (res.code !== 0) {
    // `ip netns exec` reports a missing program this way (exit 1 in iproute2 6.1, 255 in others).
    if (target.netns && /exec of ".*" failed: No such file/.test(res.stderr)) {
      if (cmd === "nft") throw new KernelError("nft-missing", NFT_MISSING);
      throw new KernelError("failed", `${cmd} not found in PATH`);
    }
    const classified = classify(res.stderr, target);
    if (classified) throw classified;
  }
  return res;
}

/** nft's error output in one line: its first `Error:` message without the `internal:0:0-0:` location. */
export function nftErrorSummary(stderr: string): string {
  const lines = stderr.split("\n").map((l) => l.trim());
  const first = lines.find((l) => l.includes("Error:")) ?? lines.find((l) => l !== "") ?? "";
  return first.replace(/^.*?Error:\s*/, "");
}

/** `nft ARGS` in the target; a non-zero exit is a KernelError("rejected") carrying nft's message. */
export async function nft(target: Target, args: readonly string[], input?: string): Promise<string> {
  const res = await runIn(target, "nft", args, input);
  if (res.code !== 0) throw new KernelError("rejected", nftErrorSummary(res.stderr) || `nft exited with ${res.code}`);
  return res.stdout;
}
