// Reading the live flow table and the local addresses of a network namespace (or the host) for the
// flow impact preview: `conntrack -L` and `ip -j route show table all type local`.
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { KernelError, describeTarget, runIn, type Target } from "../kernel/exec.js";
import { parseFlows, type ParsedFlows } from "./conntrack.js";
import { localFromRoutes, type LocalAddresses } from "./flows.js";

export type LiveErrorKind = "tool-missing" | "no-permission" | "unknown-netns" | "failed";

export class LiveReadError extends Error {
  constructor(
    readonly kind: LiveErrorKind,
    message: string,
  ) {
    super(message);
  }
}

/** `ip netns exec` runs the program from the same file system, so the host's PATH decides. */
function onPath(cmd: string): boolean {
  return (process.env.PATH ?? "").split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, cmd), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

async function runOrExplain(target: Target, cmd: string, args: readonly string[], pkg: string) {
  if (!onPath(cmd)) throw new LiveReadError("tool-missing", `${cmd} not found: install ${pkg} (Debian/Ubuntu: apt-get install ${pkg})`);
  try {
    return await runIn(target, cmd, args);
  } catch (e) {
    if (e instanceof KernelError && e.kind === "unknown-netns") throw new LiveReadError("unknown-netns", e.message);
    if (e instanceof KernelError && e.kind === "ip-missing") throw new LiveReadError("tool-missing", e.message);
    if (e instanceof KernelError && e.kind === "no-permission") {
      throw new LiveReadError("no-permission", `${cmd} ${args.join(" ")} in ${describeTarget(target)} needs root (CAP_NET_ADMIN)`);
    }
    throw e;
  }
}

/** The connection tracking table of the target, both families (conntrack-tools ≥ 1.4.5 lists both). */
export async function readConntrack(target: Target): Promise<ParsedFlows> {
  const res = await runOrExplain(target, "conntrack", ["-L"], "conntrack");
  if (res.code !== 0) {
    if (/Operation not permitted/i.test(res.stderr))
      throw new LiveReadError("no-permission", `conntrack -L in ${describeTarget(target)} needs root (CAP_NET_ADMIN)`);
    throw new LiveReadError("failed", `conntrack -L failed in ${describeTarget(target)}: ${res.stderr.trim()}`);
  }
  return parseFlows(res.stdout);
}

/** Addresses the kernel delivers locally: the `local` routes of every routing table of the target. */
export async function readLocalAddresses(target: Target): Promise<LocalAddresses> {
  const res = await runOrExplain(target, "ip", ["-j", "route", "show", "table", "all", "type", "local"], "iproute2");
  if (res.code !== 0) throw new LiveReadError("failed", `ip route show failed in ${describeTarget(target)}: ${res.stderr.trim()}`);
  return localFromRoutes(res.stdout);
}
