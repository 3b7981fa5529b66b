// Running nft and ip without a shell, on the host or inside a named network namespace
// (`ip netns exec NAME …`). Failures a user can cause become typed errors.
import { spawn } from "node:child_process";

export interface Target {
  /** A namespace `ip netns` knows by this name; undefined for the host's namespace. */
  readonly netns?: string;
}

export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export type KernelErrorKind = "nft-missing" | "ip-missing" | "no-permission" | "unknown-netns" | "rejected" | "failed";

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

/** Run a program with arguments (never through a shell), optionally feeding stdin. */
export function run(cmd: string, args: readonly string[], input?: string, timeoutMs = 60_000): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"], timeout: timeoutMs });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", reject);
    child.on("close", (code, signal) =>
      resolve({ code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") }),
    );
    child.stdin.on("error", () => {}); // the child may exit before reading all input
    child.stdin.end(input ?? "");
  });
}

function classify(stderr: string, target: Target): KernelError | null {
  if (/Operation not permitted|Permission denied/i.test(stderr)) {
    return new KernelError("no-permission", `no permission to change nftables in ${describeTarget(target)}: run as root (CAP_NET_ADMIN)`);
  }
  if (target.netns && /Cannot open network namespace|No such file or directory.*netns|setting the network namespace/i.test(stderr)) {
    return new KernelError("unknown-netns", `unknown network namespace ${JSON.stringify(target.netns)} (see 'ip netns list')`);
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
      if (file === "nft") throw new KernelError("nft-missing", "nft not found: install nftables (Debian/Ubuntu: apt-get install nftables)");
      throw new KernelError("ip-missing", "ip not found: install iproute2 (Debian/Ubuntu: apt-get install iproute2)");
    }
    throw e;
  }
  if (res.code !== 0) {
    if (target.netns && res.code === 255 && /exec of .* failed: No such file/.test(res.stderr)) {
      throw new KernelError("nft-missing", `${cmd} not found: install nftables (Debian/Ubuntu: apt-get install nftables)`);
    }
    const classified = classify(res.stderr, target);
    if (classified) throw classified;
  }
  return res;
}

/** `nft ARGS` in the target; a non-zero exit is a KernelError("rejected") carrying nft's message. */
export async function nft(target: Target, args: readonly string[], input?: string): Promise<string> {
  const res = await runIn(target, "nft", args, input);
  if (res.code !== 0) throw new KernelError("rejected", res.stderr.trim() || `nft exited with ${res.code}`);
  return res.stdout;
}
