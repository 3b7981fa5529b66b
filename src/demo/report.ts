// What the demo prints on stdout: the lab, the promises it checks, the reachability matrix and a summary.
// Pure functions of the plan and the observed cells.
import type { Observed } from "./protocol.js";
import { CLUSTER_SUBNET, EXTERNAL_SUBNET, HOSTS, IPV6_SUBNET, NODES, SERVICES, SWITCH_NETNS, BRIDGE, type LabHost, type Probe, type Service } from "./plan.js";
import { PROMISES, type Audience, type Verdict } from "./promises.js";

export interface Cell {
  readonly probe: Probe;
  /** "skipped": ICMP without a ping program. */
  readonly observed: Observed | "skipped";
  readonly detail?: string;
  readonly promised: Verdict;
}

export function cellMatches(c: Cell): boolean {
  return c.observed === "skipped" || c.observed === c.promised;
}

export const MATCH_MARK = "✓";
export const MISMATCH_MARK = "≠";

interface Style {
  readonly bold: (s: string) => string;
  readonly good: (s: string) => string;
  readonly dim: (s: string) => string;
  readonly bad: (s: string) => string;
}

const plain = (s: string) => s;
const sgr = (code: string) => (s: string) => `\x1b[${code}m${s}\x1b[0m`;

export function style(color: boolean): Style {
  return color ? { bold: sgr("1"), good: sgr("32"), dim: sgr("2"), bad: sgr("1;31") } : { bold: plain, good: plain, dim: plain, bad: plain };
}

function table(rows: readonly (readonly string[])[], indent = "  "): string {
  const widths = rows.reduce<number[]>((w, r) => r.map((c, i) => Math.max(w[i] ?? 0, c.length)), []);
  return rows.map((r) => indent + r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ") + "\n").join("");
}

function firewallOf(h: LabHost): string {
  return h.role === "external" ? "no firewall: the client from outside the cluster" : `${h.role}.yaml (block mode)`;
}

export function renderLab(vars: Readonly<Record<string, string>>): string {
  const rows = HOSTS.map((h) => [h.name, h.netns, h.ipv4, h.ipv6, firewallOf(h)]);
  rows.push(["switch", SWITCH_NETNS, "", "", `bridge ${BRIDGE}, one veth port per host`]);
  return (
    "The lab: network namespaces on one bridge (nothing outside them is touched)\n" +
    table(rows) +
    `  variables  ${Object.entries(vars)
      .map(([k, v]) => `$${k}=${v}`)
      .join("  ")}\n` +
    `  The external client is outside $CLUSTER_SUBNET: ${EXTERNAL_SUBNET} on the same bridge as ${CLUSTER_SUBNET},\n` +
    `  joined by on-link routes (no router). IPv6 uses one ULA subnet, ${IPV6_SUBNET}; $CLUSTER_SUBNET and\n` +
    `  $CP1..$CP3 are IPv4, so over IPv6 every source is outside the cluster.\n`
  );
}

const AUDIENCE_TEXT: Record<Audience, string> = {
  everyone: "everyone",
  cluster: "the cluster (its nodes, over IPv4)",
  controlplanes: "the control planes (over IPv4)",
};

/** One line per audience: "apid, kube-api: everyone". */
function promiseLines(promises: Readonly<Record<string, Audience>>): string[] {
  const by = new Map<Audience, string[]>();
  for (const [service, audience] of Object.entries(promises)) by.set(audience, [...(by.get(audience) ?? []), service]);
  return [...by].map(([a, services]) => `${services.join(", ")}: ${AUDIENCE_TEXT[a]}`);
}

export function renderPromises(): string {
  const rows = (label: string, lines: string[]) => lines.map((l, i) => [i === 0 ? label : "", l]);
  return (
    "Expected: the seed's promises, encoded from its prose (src/demo/promises.ts), not from the compiler\n" +
    table([
      ...rows("controlplane", promiseLines(PROMISES.controlplane)),
      ...rows("worker", promiseLines(PROMISES.worker)),
      ...rows("every node", ["anything else: dropped (block mode)", "ping: answered (ICMP is allowed, 5/s)", "from itself: open (lo is always allowed)"]),
    ])
  );
}

function portLabel(s: Service): string {
  return s.proto === "icmp" ? "icmp" : s.proto === "udp" ? `${s.port}/udp` : String(s.port);
}

function cellText(c: Cell): string {
  if (c.observed === "skipped") return "skip";
  return cellMatches(c) ? `${c.observed} ${MATCH_MARK}` : `${c.observed}${MISMATCH_MARK}${c.promised}`;
}

function rowLabel(source: LabHost, family: 4 | 6): string {
  return family === 4 ? source.name : `${source.name} v6`;
}

/** One block per destination node: rows are sources (over IPv4, then IPv6), columns the services. */
export function renderMatrix(cells: readonly Cell[], opts: { color: boolean; timeoutMs: number }): string {
  const st = style(opts.color);
  const at = new Map(cells.map((c) => [`${c.probe.source.name}/${c.probe.family}>${c.probe.dest.name}:${c.probe.service.name}`, c]));
  let out =
    `Reachability: each cell is what a real connection saw; ${MATCH_MARK} = as promised, A${MISMATCH_MARK}B = saw A, promised B\n` +
    `  open = TCP connected, UDP echo came back, ping answered; drop = no answer within ${opts.timeoutMs} ms\n`;
  for (const dest of NODES) {
    const rows: string[][] = [
      ["", ...SERVICES.map((s) => s.name)],
      ["from", ...SERVICES.map(portLabel)],
    ];
    const styled: ((s: string) => string)[][] = [SERVICES.map(() => st.bold), SERVICES.map(() => st.bold)];
    for (const source of HOSTS)
      for (const family of [4, 6] as const) {
        const row = SERVICES.map((s) => at.get(`${source.name}/${family}>${dest.name}:${s.name}`));
        rows.push([rowLabel(source, family), ...row.map((c) => (c ? cellText(c) : "-"))]);
        styled.push(row.map((c) => (!c || c.observed === "skipped" ? st.dim : !cellMatches(c) ? st.bad : c.observed === "open" ? st.good : st.dim)));
      }
    // Pad first, colour after, so escape codes never disturb the alignment.
    const widths = rows.reduce<number[]>((w, r) => r.map((c, i) => Math.max(w[i] ?? 0, c.length)), []);
    out += `\n${st.bold(`to ${dest.name}`)} (${dest.role}, ${dest.ipv4} / ${dest.ipv6})\n`;
    out += rows
      .map(
        (r, ri) =>
          "  " +
          r
            .map((c, i) => (i === 0 ? c.padEnd(widths[0]!) : styled[ri]![i - 1]!(c.padEnd(widths[i]!))))
            .join("  ")
            .trimEnd() +
          "\n",
      )
      .join("");
  }
  return out;
}

function describe(p: Probe): string {
  const what = p.service.proto === "icmp" ? "ping" : `${p.service.name} ${p.service.port}/${p.service.proto}`;
  return `${p.source.name} → ${p.dest.name} ${what} over IPv${p.family}`;
}

export function renderSummary(cells: readonly Cell[], opts: { color: boolean }): string {
  const st = style(opts.color);
  const bad = cells.filter((c) => !cellMatches(c));
  const skipped = cells.filter((c) => c.observed === "skipped").length;
  const open = cells.filter((c) => c.observed === "open").length;
  const checked = cells.length - skipped;
  if (bad.length === 0) {
    return (
      st.good(`All ${checked} checked cells match the seed's promises`) +
      ` (${open} open, ${checked - open} dropped${skipped ? `, ${skipped} skipped` : ""}).\n`
    );
  }
  return (
    st.bad(`${bad.length} of ${checked} checked cells differ from the seed's promises:`) +
    "\n" +
    bad.map((c) => `  ${describe(c.probe)}: saw ${c.observed}${c.detail ? ` (${c.detail})` : ""}, promised ${c.promised}\n`).join("")
  );
}

/** How to explore a lab left up by `demo --keep`: a comment line, then a command to copy. */
export function renderKeepHelp(): string {
  const cp1 = NODES[0]!;
  const ext = HOSTS.find((h) => h.role === "external")!;
  const tcp = (port: number) => `timeout 1 bash -c '</dev/tcp/${cp1.ipv4}/${port}'`;
  const examples: [string, string][] = [
    ["the firewall on cp1, with its counters", `ip netns exec ${cp1.netns} nft list ruleset`],
    ["apid on cp1 is open to everyone", `ip netns exec ${ext.netns} ${tcp(50000)} && echo open`],
    ["kubelet on cp1 admits the cluster only", `ip netns exec ${ext.netns} ${tcp(10250)} || echo dropped`],
    ["ICMPv6 is answered (5/s)", `ip netns exec ${ext.netns} ping -c1 ${cp1.ipv6}`],
    ["a shell on cp2 ('exit' leaves it)", `ip netns exec ${NODES[1]!.netns} bash`],
  ];
  return (
    "The lab stays up (--keep); the listeners keep running on every node. Explore it:\n" +
    examples.map(([why, cmd]) => `  # ${why}\n  ${cmd}\n`).join("") +
    "Remove it with: ingressfw demo --clean\n"
  );
}
