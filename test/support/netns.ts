// Throwaway network namespaces for kernel tests. Every namespace a test creates is deleted in
// `after`, also when the test fails. Traffic in tests goes only between namespaces made here.
import { execFileSync } from "node:child_process";
import { after } from "node:test";

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
let hooked = false;

/** A fresh namespace with a unique name (prefix + pid + counter), deleted after the test file. */
export function createNetns(prefix: string): string {
  const name = `${prefix}-${process.pid}-${created.size}`.slice(0, 60);
  execFileSync("ip", ["netns", "add", name]);
  execFileSync("ip", ["-n", name, "link", "set", "lo", "up"]);
  created.add(name);
  if (!hooked) {
    hooked = true;
    after(() => {
      for (const n of created) deleteNetns(n);
    });
    process.once("exit", () => {
      for (const n of created) deleteNetns(n);
    });
  }
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
