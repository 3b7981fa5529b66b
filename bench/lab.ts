// The bench's three namespaces: a client that only writes frames, a server `fw` that holds the ruleset
// under test, and a reference server `ref` that never has one. The client reaches each server over its
// own veth pair; all addresses live inside these namespaces. Names carry the bench's pid, so a lab
// left behind by a killed run is recognised (its pid is gone) and removed by the next run.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { run, runIn, type Target } from "../src/kernel/exec.js";
import { FAMILIES, SERVER_ADDRESS, SERVER_PREFIX_LENGTH } from "./configs.js";
import type { Side } from "./stats.js";

export const NETNS_PREFIX = "ifw-bench-";
/** The servers' interface: not one of the names the Talos preamble trusts (lo, siderolink, kubespan). */
export const SERVER_IFACE = "bench0";
const CLIENT_IFACE: Record<Side, string> = { fw: "to-fw", ref: "to-ref" };

export interface Lab {
  readonly client: string;
  readonly servers: Record<Side, string>;
  /** The client's interface towards each server and that server's MAC address. */
  readonly clientIface: Record<Side, string>;
  readonly serverMac: Record<Side, string>;
  /**
   * One idle process inside each server namespace: /proc/<its pid>/net/ shows that namespace's
   * counters without spawning a reader per run. It is `cat` on a pipe from the bench, so it exits
   * with the bench however the bench ends.
   */
  readonly anchors: Partial<Record<Side, ChildProcess>>;
}

function labNames(pid: number): { client: string; servers: Record<Side, string> } {
  return { client: `${NETNS_PREFIX}cli-${pid}`, servers: { fw: `${NETNS_PREFIX}fw-${pid}`, ref: `${NETNS_PREFIX}ref-${pid}` } };
}

function allNames(lab: { client: string; servers: Record<Side, string> }): string[] {
  return [lab.client, lab.servers.fw, lab.servers.ref];
}

async function must(cmd: string, args: readonly string[], target?: Target): Promise<string> {
  const res = target ? await runIn(target, cmd, args) : await run(cmd, args);
  if (res.code !== 0) throw new Error(`${cmd} ${args.join(" ")}${target?.netns ? ` (in ${target.netns})` : ""}: ${res.stderr.trim() || `exit ${res.code}`}`);
  return res.stdout;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Namespace names `ip netns list` prints (the first word of each line). */
export function parseNetnsList(text: string): string[] {
  return text
    .split("\n")
    .map((l) => l.trim().split(/\s+/)[0] ?? "")
    .filter((n) => n !== "");
}

/** Bench namespaces whose run has ended (its pid is gone). */
export function staleLabNamespaces(names: readonly string[], alive: (pid: number) => boolean): string[] {
  return names.filter((n) => {
    const m = /^ifw-bench-(?:cli|fw|ref)-(\d+)$/.exec(n);
    return m !== null && !alive(Number(m[1]));
  });
}

export async function removeStaleLabs(): Promise<string[]> {
  const stale = staleLabNamespaces(parseNetnsList(await must("ip", ["netns", "list"])), pidAlive);
  for (const n of stale) await run("ip", ["netns", "del", n]);
  return stale;
}

/** Synchronous, for exit and signal handlers; never throws. */
export function deleteLabSync(lab: Lab | null): void {
  if (!lab) return;
  for (const a of Object.values(lab.anchors)) a.kill();
  for (const n of allNames(lab)) {
    try {
      execFileSync("ip", ["netns", "del", n], { stdio: "ignore", timeout: 30_000 });
    } catch {
      // already gone
    }
  }
}

export async function createLab(pid = process.pid): Promise<Lab> {
  const names = labNames(pid);
  const existing = new Set(parseNetnsList(await must("ip", ["netns", "list"])));
  const clash = allNames(names).find((n) => existing.has(n));
  if (clash) throw new Error(`namespace ${clash} already exists`);
  const lab: Lab = { ...names, clientIface: CLIENT_IFACE, serverMac: { fw: "", ref: "" }, anchors: {} };
  try {
    for (const n of allNames(names)) {
      await must("ip", ["netns", "add", n]);
      await must("ip", ["-n", n, "link", "set", "lo", "up"]);
    }
    const cli: Target = { netns: names.client };
    // The client only writes raw frames: no addresses, and no IPv6 so it sends no solicitations of its own.
    await must("sysctl", ["-qw", "net.ipv6.conf.default.disable_ipv6=1", "net.ipv6.conf.all.disable_ipv6=1"], cli);
    for (const side of ["fw", "ref"] as const) {
      const server = names.servers[side];
      const srv: Target = { netns: server };
      await must("ip", ["-n", names.client, "link", "add", CLIENT_IFACE[side], "type", "veth", "peer", "name", SERVER_IFACE, "netns", server]);
      // Identical settings on both servers: no reverse-path filter (sources are not routable back), no router
      // advertisements; conntrack must not judge the deliberately wrong TCP checksum (it would mark every
      // bench packet invalid and the Talos preamble drops invalid packets before any rule).
      await must(
        "sysctl",
        [
          "-qw",
          "net.ipv4.conf.all.rp_filter=0",
          "net.ipv4.conf.default.rp_filter=0",
          `net.ipv4.conf.${SERVER_IFACE}.rp_filter=0`,
          `net.ipv6.conf.${SERVER_IFACE}.accept_ra=0`,
          "net.netfilter.nf_conntrack_checksum=0",
        ],
        srv,
      );
      for (const family of FAMILIES) {
        const extra = family === 6 ? ["nodad"] : [];
        await must("ip", ["-n", server, "addr", "add", `${SERVER_ADDRESS[family]}/${SERVER_PREFIX_LENGTH[family]}`, "dev", SERVER_IFACE, ...extra]);
      }
      await must("ip", ["-n", server, "link", "set", SERVER_IFACE, "up"]);
      await must("ip", ["-n", names.client, "link", "set", CLIENT_IFACE[side], "up"]);
      const link = JSON.parse(await must("ip", ["-n", server, "-j", "link", "show", SERVER_IFACE])) as { address: string }[];
      lab.serverMac[side] = link[0]!.address;
      lab.anchors[side] = await startAnchor(server);
    }
    return lab;
  } catch (e) {
    deleteLabSync(lab);
    throw e;
  }
}

/** The server's count of TCP segments dropped for a bad checksum: every bench packet its firewall let through. */
export function tcpInCsumErrors(snmp: string): number {
  const lines = snmp.split("\n").filter((l) => l.startsWith("Tcp:"));
  const keys = lines[0]?.split(/\s+/) ?? [];
  const values = lines[1]?.split(/\s+/) ?? [];
  const i = keys.indexOf("InCsumErrors");
  if (i < 0 || values[i] === undefined) throw new Error("no Tcp InCsumErrors counter in /proc/net/snmp");
  return Number(values[i]);
}

/**
 * `ip netns exec` enters the namespace and replaces itself with the program, so the child's pid ends
 * up inside it; wait (bounded) until its network namespace is the named one.
 */
async function startAnchor(netns: string): Promise<ChildProcess> {
  const child = spawn("ip", ["netns", "exec", netns, "cat"], { stdio: ["pipe", "ignore", "ignore"] });
  const target = statSync(`/run/netns/${netns}`).ino;
  for (let i = 0; i < 100 && child.exitCode === null; i++) {
    try {
      if (statSync(`/proc/${child.pid}/ns/net`).ino === target) return child;
    } catch {
      // not started yet
    }
    await sleep(20);
  }
  child.kill();
  throw new Error(`cannot start a process in namespace ${netns}`);
}

export function deliveredCount(lab: Lab, side: Side): number {
  const anchor = lab.anchors[side];
  if (!anchor || anchor.exitCode !== null) throw new Error(`the ${side} namespace's anchor process is gone`);
  return tcpInCsumErrors(readFileSync(`/proc/${anchor.pid}/net/snmp`, "utf8"));
}
