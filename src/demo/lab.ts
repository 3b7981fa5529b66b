// The lab's network: one namespace per host plus a "switch" namespace holding a bridge, one veth pair
// from each host's eth0 to a bridge port. Nothing is created in the host's own namespace.
import { readFileSync } from "node:fs";
import { run } from "../kernel/exec.js";
import { BRIDGE, CLUSTER_SUBNET, EXTERNAL_SUBNET, HOSTS, LAB_PREFIX, SWITCH_NETNS, prefixLength, type LabHost } from "./plan.js";
import { AGENT_MARKER } from "./protocol.js";

const IP_TIMEOUT_MS = 10_000;

export class LabError extends Error {
  constructor(
    message: string,
    readonly noPermission = false,
  ) {
    super(message);
  }
}

async function ip(args: readonly string[], input?: string): Promise<string> {
  const res = await run("ip", args, input, IP_TIMEOUT_MS);
  if (res.code !== 0) {
    const msg = res.stderr.trim() || `exit ${res.code}`;
    throw new LabError(`ip ${args.join(" ")}: ${msg}`, /Operation not permitted|Permission denied/i.test(msg));
  }
  return res.stdout;
}

/** `ip -n NETNS -batch -`: many changes in one namespace with one process. */
function ipBatch(netns: string, lines: readonly string[]): Promise<string> {
  return ip(["-n", netns, "-batch", "-"], lines.join("\n") + "\n");
}

/** Commands for the switch: the bridge and one veth pair per host, the host end created inside the host's namespace. */
export function switchCommands(hosts: readonly LabHost[]): string[] {
  const out = ["link set lo up", `link add ${BRIDGE} type bridge`, `link set ${BRIDGE} up`];
  for (const h of hosts)
    out.push(`link add ${h.name} type veth peer name eth0 netns ${h.netns}`, `link set ${h.name} master ${BRIDGE}`, `link set ${h.name} up`);
  return out;
}

/**
 * Commands for one host. The external client's subnet and the cluster subnet share the bridge; on-link
 * routes connect them without a router. IPv6 neighbours are static and addresses skip duplicate-address
 * detection: in block mode neighbour discovery counts against the 5/s ICMPv6 limit (semantics §5.3), and
 * the demo's probes must not race it.
 */
export function hostCommands(h: LabHost, hosts: readonly LabHost[]): string[] {
  const otherSubnet = h.role === "external" ? CLUSTER_SUBNET : EXTERNAL_SUBNET;
  return [
    "link set lo up",
    `link set eth0 address ${h.mac}`,
    "link set eth0 up",
    `addr add ${h.ipv4}/${prefixLength(4)} dev eth0`,
    `addr add ${h.ipv6}/${prefixLength(6)} dev eth0 nodad`,
    `route add ${otherSubnet} dev eth0`,
    ...hosts.filter((o) => o !== h).map((o) => `neigh replace ${o.ipv6} lladdr ${o.mac} dev eth0 nud permanent`),
  ];
}

/** Namespaces this process created, so teardown removes exactly those. */
export class LabNetwork {
  private readonly created: string[] = [];

  async build(): Promise<void> {
    for (const ns of [SWITCH_NETNS, ...HOSTS.map((h) => h.netns)]) {
      await ip(["netns", "add", ns]);
      this.created.push(ns);
    }
    await ipBatch(SWITCH_NETNS, switchCommands(HOSTS));
    await Promise.all(HOSTS.map((h) => ipBatch(h.netns, hostCommands(h, HOSTS))));
  }

  /** Delete every namespace this run created (hosts first, the switch last). Returns those that would not go. */
  async destroy(): Promise<string[]> {
    const failed: string[] = [];
    for (const ns of this.created.splice(0).reverse()) {
      try {
        await ip(["netns", "del", ns]);
      } catch {
        failed.push(ns);
      }
    }
    return failed;
  }
}

/** Lab namespaces present now (from `ip netns list`), e.g. left by `demo --keep`. */
export async function findLabNamespaces(): Promise<string[]> {
  const out = await ip(["netns", "list"]);
  return out
    .split("\n")
    .map((l) => l.split(" ")[0] ?? "")
    .filter((n) => n.startsWith(LAB_PREFIX));
}

function isAgent(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").includes(AGENT_MARKER);
  } catch {
    return false; // already gone
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // exited meanwhile
  }
}

/** Running, i.e. neither gone nor a zombie (a kept agent's parent is gone; whoever adopted it may reap late). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

export interface CleanResult {
  readonly removed: readonly string[];
  readonly stoppedAgents: number;
  /** Processes in the lab that the demo did not start (e.g. a user's shell): left alone. */
  readonly otherProcesses: number;
}

/** Stop the demo's agents in the lab namespaces and delete the namespaces (`demo --clean`). */
export async function cleanLab(): Promise<CleanResult> {
  const names = await findLabNamespaces();
  const pids = (await Promise.all(names.map((n) => ip(["netns", "pids", n])))).flatMap((out) => out.split("\n").filter(Boolean).map(Number));
  const agents = pids.filter(isAgent);
  for (const pid of agents) signal(pid, "SIGTERM");
  // Bounded wait: 40 × 50 ms, then SIGKILL what is left.
  for (let i = 0; i < 40 && agents.some(alive); i++) await new Promise((r) => setTimeout(r, 50));
  for (const pid of agents.filter(alive)) signal(pid, "SIGKILL");
  const order = [...names.filter((n) => n !== SWITCH_NETNS), ...names.filter((n) => n === SWITCH_NETNS)];
  for (const n of order) await ip(["netns", "del", n]);
  return { removed: order, stoppedAgents: agents.length, otherProcesses: pids.length - agents.length };
}
