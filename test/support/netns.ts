// Throwaway network namespaces for kernel tests. Every namespace a test creates is deleted in
// `after`, also when the test fails. Traffic in tests goes only between namespaces made here.
import { execFileSync } from "node:child_process";

/** Kernel tests need root, nft and ip; INGRESSFW_SKIP_KERNEL=1 (npm run test:unit) skips them. */
export function kernelSkipReason(): string | false {
  if (process.env.INGRESSFW_SKIP_KERNEL) return "INGRESSFW_SKIP_KERNEL is set";
  if (process.getuid?.() !== 0) return "kernel tests need root";
  for (const tool of ["nft", "ip"]) {
    try {
      execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
    } catch {
      return `${tool} is not installed`;
    }
  }
  return false;
}

const created = new Set<string>();
let serial = 0;
let hooked = false;

function deleteAll(): void {
  for (const n of created) deleteNetns(n);
}

/**
 * A fresh namespace with a unique name (prefix + pid + serial). It is deleted when the test process
 * exits — normally, on an uncaught failure, or on SIGINT/SIGTERM — or earlier by deleteNetns.
 * (A node:test `after` hook would bind to whichever suite first called this, and fire too early.)
 */
export function createNetns(prefix: string): string {
  const name = `${prefix}-${process.pid}-${serial++}`.slice(0, 60);
  if (!hooked) {
    hooked = true;
    process.once("exit", deleteAll);
    for (const sig of ["SIGINT", "SIGTERM"] as const) {
      process.once(sig, () => {
        deleteAll();
        process.exit(130);
      });
    }
  }
  execFileSync("ip", ["netns", "add", name]);
  created.add(name);
  execFileSync("ip", ["-n", name, "link", "set", "lo", "up"]);
  return name;
}

export function deleteNetns(name: string): void {
  try {
    execFileSync("ip", ["netns", "del", name], { stdio: "ignore" });
  } catch {
    // already gone
  }
  created.delete(name);
}

/** Run a command inside a namespace; returns stdout. Throws with stderr on failure. */
export function inNetns(name: string, cmd: string, args: readonly string[], input?: string): string {
  return execFileSync("ip", ["netns", "exec", name, cmd, ...args], { input, encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] });
}
