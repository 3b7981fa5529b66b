// The differential proof (issue 4 part 5), shared by the CI test (test/kernel/differential.test.ts) and
// the long run (test/long/differential.ts): random configurations are compiled, applied with
// applyRuleset in a server namespace, and probed with real TCP connects / UDP request-replies from a
// client namespace; the kernel's verdict (a reply or not) must equal the evaluator's for every packet.
// Client and server share one veth link with on-link prefixes (10.99.0.0/16, fd99::/64), so replies
// to every pool source route back; all traffic stays on that link.
import { execFileSync } from "node:child_process";
import fc from "fast-check";
import { hasErrors, formatDiagnostic } from "../../src/config/diagnostics.js";
import { loadConfig } from "../../src/config/load.js";
import { compileRuleset } from "../../src/compile/index.js";
import type { ProfileName } from "../../src/compile/profiles.js";
import type { LayoutName, Ruleset } from "../../src/compile/ruleset.js";
import { evaluationText } from "../../src/evaluate/describe.js";
import { evaluate } from "../../src/evaluate/evaluate.js";
import { PROTO_TCP, PROTO_UDP, type Packet } from "../../src/evaluate/packet.js";
import { applyRuleset } from "../../src/kernel/apply.js";
import { parseAddress, type Address } from "../../src/net/address.js";
import { Agent, type ProbeResult } from "./lab.js";
import { createNetns, deleteNetns, kernelSkipReason } from "./netns.js";

export const SERVER_V4 = "10.99.0.1";
export const SERVER_V6 = "fd99::1";
const CLIENT_V4 = "10.99.0.2";
const CLIENT_V6 = "fd99::2";
/** The veth end in each namespace; the evaluator's packets arrive on it. */
const IFACE = "eth0";

/** Sources at the edges of the subnet pools below (first/last address, ±1), plus some inside none. */
export const SOURCES_V4 = [
  "10.99.0.2",
  "10.99.1.0",
  "10.99.1.1",
  "10.99.1.127",
  "10.99.1.128",
  "10.99.1.255",
  "10.99.2.1",
  "10.99.3.255",
  "10.99.4.4",
  "10.99.4.5",
  "10.99.128.9",
  "10.99.200.200",
];
export const SOURCES_V6 = [
  "fd99::2",
  "fd99::100",
  "fd99::17f",
  "fd99::180",
  "fd99::1ff",
  "fd99::200",
  "fd99::ffff:1",
  "fd99::1:0:0:1",
  "fd99::1:0:0:2",
  "fd99::ffff:ffff:ffff:fffe",
];
const SUBNETS_V4 = [
  "10.99.0.0/16",
  "10.99.1.0/24",
  "10.99.1.0/25",
  "10.99.1.128/25",
  "10.99.1.128/32",
  "10.99.2.0/23",
  "10.99.4.4/32",
  "10.99.128.0/17",
  "10.99.1.5/24",
  "0.0.0.0/0",
  "192.0.2.0/24",
];
const SUBNETS_V6 = [
  "fd99::/64",
  "fd99::100/120",
  "fd99::180/121",
  "fd99::ffff:0/112",
  "fd99::1:0:0:1/128",
  "fd99::105/120",
  "fd99::/48",
  "::/0",
  "2001:db8::/32",
];
/** Every port a packet can go to; the server listens on each, TCP and UDP. */
export const PROBE_PORTS = [22, 80, 443, 444, 8080, 8081, 8082, 10250];
/** Port list elements of rules: single probe ports and ranges that overlap them and each other. */
const PORT_ENTRIES: readonly (number | string)[] = [...PROBE_PORTS, "80-443", "443-444", "8080-8082", "8081-8082", "1-100", "10000-20000", "0-65535"];

/** A short probe is enough on a veth; a packet the kernel drops is retried once with the long one. */
const PROBE_MS = 300;
const RETRY_MS = 2000;

export interface IngressSpec {
  readonly subnet: string;
  readonly except?: string | undefined;
}

export interface RuleSpec {
  readonly protocol: "tcp" | "udp";
  readonly ports: readonly (number | string)[];
  readonly ingress: readonly IngressSpec[];
}

export interface ConfigSpec {
  /** none: no NetworkDefaultActionConfig (accept). */
  readonly mode: "accept" | "block" | "none";
  readonly profile: ProfileName;
  /** per-rule (Talos's shape) or port-map (apply's default): the kernel must agree with the evaluator on both. */
  readonly layout: LayoutName;
  /** talos profile: compile with the server's addresses as node addresses (adds the prerouting chain). */
  readonly nodeAddresses: boolean;
  readonly rules: readonly RuleSpec[];
}

export interface PacketSpec {
  readonly src: string;
  readonly protocol: "tcp" | "udp";
  readonly port: number;
}

const span = (p: number | string) => (typeof p === "number" ? [p, p] : p.split("-").map(Number)) as [number, number];

/** Talos rejects overlapping ranges within one rule: keep the first of each overlapping group. */
export function disjointPorts(ports: readonly (number | string)[]): (number | string)[] {
  const kept: (number | string)[] = [];
  for (const p of ports) {
    const [lo, hi] = span(p);
    if (kept.every((k) => span(k)[1] < lo || span(k)[0] > hi)) kept.push(p);
  }
  return kept;
}

const subnetArb = fc.constantFrom(...SUBNETS_V4, ...SUBNETS_V6);
const ingressArb: fc.Arbitrary<IngressSpec> = fc.record({ subnet: subnetArb, except: fc.option(subnetArb, { nil: undefined }) });
const ruleArb: fc.Arbitrary<RuleSpec> = fc.record({
  protocol: fc.constantFrom("tcp" as const, "udp" as const),
  ports: fc.uniqueArray(fc.constantFrom(...PORT_ENTRIES), { minLength: 1, maxLength: 3 }).map(disjointPorts),
  ingress: fc.array(ingressArb, { maxLength: 3 }),
});

export const configArb: fc.Arbitrary<ConfigSpec> = fc.record({
  mode: fc.constantFrom("accept" as const, "block" as const, "none" as const),
  profile: fc.constantFrom("talos" as const, "talos-1.7" as const),
  layout: fc.constantFrom("per-rule" as const, "port-map" as const),
  nodeAddresses: fc.boolean(),
  rules: fc.array(ruleArb, { minLength: 1, maxLength: 6 }),
});

export const packetArb: fc.Arbitrary<PacketSpec> = fc.record({
  src: fc.constantFrom(...SOURCES_V4, ...SOURCES_V6),
  protocol: fc.constantFrom("tcp" as const, "udp" as const),
  port: fc.constantFrom(...PROBE_PORTS),
});

export function configYaml(c: ConfigSpec): string {
  const docs = c.mode === "none" ? [] : [`apiVersion: v1alpha1\nkind: NetworkDefaultActionConfig\ningress: ${c.mode}\n`];
  c.rules.forEach((r, i) => {
    const ingress = r.ingress.map((e) => `  - subnet: ${e.subnet}${e.except ? `\n    except: ${e.except}` : ""}`).join("\n");
    docs.push(
      `apiVersion: v1alpha1\nkind: NetworkRuleConfig\nname: r${i}\nportSelector:\n  ports: [${r.ports.join(", ")}]\n  protocol: ${r.protocol}\ningress:${ingress ? `\n${ingress}` : " []"}\n`,
    );
  });
  return docs.join("---\n");
}

const addr = (t: string) => parseAddress(t) as Address;

export function compileSpec(c: ConfigSpec): Ruleset {
  const { config, diagnostics } = loadConfig([{ file: "diff.yaml", text: configYaml(c) }]);
  if (hasErrors(diagnostics))
    throw new Error(`the generator made an invalid configuration:\n${diagnostics.map(formatDiagnostic).join("\n")}\n${configYaml(c)}`);
  const nodeAddresses = c.nodeAddresses ? [addr(SERVER_V4), addr(SERVER_V6)] : null;
  return compileRuleset(config, { profile: c.profile, layout: c.layout, nodeAddresses });
}

/** The packet as the server's input path sees it: a new connection on the veth to the server's address. */
export function evaluatorPacket(p: PacketSpec): Packet {
  const src = addr(p.src);
  return {
    iif: IFACE,
    family: src.family,
    src: src.value,
    dst: addr(src.family === 4 ? SERVER_V4 : SERVER_V6).value,
    protocol: p.protocol === "tcp" ? PROTO_TCP : PROTO_UDP,
    dport: p.port,
    ctState: "new",
  };
}

/** Root, nft, ip, and conntrack (to forget connections between configurations). */
export function differentialSkipReason(): string | false {
  const kernel = kernelSkipReason();
  if (kernel) return kernel;
  try {
    execFileSync("sh", ["-c", "command -v conntrack"], { stdio: "ignore" });
    return false;
  } catch {
    return "conntrack is not installed (apt-get install conntrack)";
  }
}

export interface DiffLab {
  readonly server: string;
  readonly client: string;
  probe(p: PacketSpec, timeoutMs: number): Promise<ProbeResult>;
  apply(rs: Ruleset): Promise<void>;
  close(): void;
}

function sh(args: readonly string[]): string {
  return execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 10_000 });
}

/** Server and client namespaces on one veth; every pool source on the client; listeners on every probe port. */
export async function createDiffLab(prefix: string): Promise<DiffLab> {
  const server = createNetns(`${prefix}s`);
  const client = createNetns(`${prefix}c`);
  const agents: Agent[] = [];
  const close = () => {
    for (const a of agents) a.close();
    deleteNetns(server);
    deleteNetns(client);
  };
  try {
    sh(["link", "add", IFACE, "netns", server, "type", "veth", "peer", "name", IFACE, "netns", client]);
    sh(["-n", server, "addr", "add", `${SERVER_V4}/16`, "dev", IFACE]);
    sh(["-n", server, "addr", "add", `${SERVER_V6}/64`, "dev", IFACE, "nodad"]);
    sh(["-n", client, "addr", "add", `${CLIENT_V4}/16`, "dev", IFACE]);
    sh(["-n", client, "addr", "add", `${CLIENT_V6}/64`, "dev", IFACE, "nodad"]);
    for (const a of SOURCES_V4.filter((s) => s !== CLIENT_V4)) sh(["-n", client, "addr", "add", `${a}/32`, "dev", IFACE]);
    for (const a of SOURCES_V6.filter((s) => s !== CLIENT_V6)) sh(["-n", client, "addr", "add", `${a}/128`, "dev", IFACE, "nodad"]);
    for (const ns of [server, client]) sh(["-n", ns, "link", "set", IFACE, "up"]);
    // Static neighbours: no ARP/ND is needed, so block mode's ICMPv6 rate limit cannot eat neighbour discovery.
    const mac = (ns: string) => (JSON.parse(sh(["-n", ns, "-j", "link", "show", IFACE])) as { address: string }[])[0]!.address;
    const [serverMac, clientMac] = [mac(server), mac(client)];
    for (const a of [...SOURCES_V4, ...SOURCES_V6]) sh(["-n", server, "neigh", "replace", a, "lladdr", clientMac, "dev", IFACE, "nud", "permanent"]);
    for (const a of [SERVER_V4, SERVER_V6]) sh(["-n", client, "neigh", "replace", a, "lladdr", serverMac, "dev", IFACE, "nud", "permanent"]);

    const serverAgent = new Agent(server);
    agents.push(serverAgent);
    const clientAgent = new Agent(client);
    agents.push(clientAgent);
    for (const port of PROBE_PORTS) {
      await serverAgent.listenTcp(port);
      await serverAgent.listenUdp(port);
    }
    return {
      server,
      client,
      probe(p, timeoutMs) {
        const host = addr(p.src).family === 4 ? SERVER_V4 : SERVER_V6;
        return p.protocol === "tcp" ? clientAgent.tcp(host, p.port, p.src, timeoutMs) : clientAgent.udp(host, p.port, p.src, timeoutMs);
      },
      async apply(rs) {
        await applyRuleset({ netns: server }, rs);
        // Connections accepted under an earlier configuration must not be let in as established.
        execFileSync("ip", ["netns", "exec", server, "conntrack", "-F"], { stdio: "ignore", timeout: 10_000 });
      },
      close,
    };
  } catch (e) {
    close();
    throw e;
  }
}

export interface Counts {
  configs: number;
  /** Of those, compiled with the port-map layout. */
  portMap: number;
  packets: number;
  accepted: number;
  dropped: number;
  /** Probes that timed out at first, against an accept verdict, and were tried again with the long timeout. */
  retried: number;
}

export const newCounts = (): Counts => ({ configs: 0, portMap: 0, packets: 0, accepted: 0, dropped: 0, retried: 0 });

export const countsText = (c: Counts) =>
  `${c.packets} packet verdicts over ${c.configs} configurations (${c.portMap} port-map; ${c.accepted} accepted, ${c.dropped} dropped by the kernel; ${c.retried} slow probe(s) retried)`;

function kernelVerdict(r: ProbeResult, p: PacketSpec): "accept" | "drop" {
  if (r === "open" || r === "refused") return "accept";
  if (r === "timeout") return "drop";
  throw new Error(`probe ${p.protocol} from ${p.src} to port ${p.port} failed: ${r}`);
}

function packetText(p: PacketSpec): string {
  return `${p.protocol} from ${p.src} to ${addr(p.src).family === 4 ? SERVER_V4 : SERVER_V6} port ${p.port}`;
}

/**
 * The property: for one configuration and a batch of packets, the kernel answers exactly the packets the
 * evaluator accepts. On a mismatch it throws with the configuration's YAML, the profile and every
 * mismatching packet with the evaluator's explanation.
 */
export function differentialProperty(lab: DiffLab, counts: Counts, packetsPerConfig: number, maxShrinks: number) {
  const arb = fc.limitShrink(fc.tuple(configArb, fc.array(packetArb, { minLength: packetsPerConfig, maxLength: packetsPerConfig })), maxShrinks);
  return fc.asyncProperty(arb, async ([config, packets]) => {
    const rs = compileSpec(config);
    await lab.apply(rs);
    counts.configs++;
    if (config.layout === "port-map") counts.portMap++;
    const results = await Promise.all(
      packets.map(async (p) => {
        const expected = evaluate(rs, evaluatorPacket(p));
        if (expected.verdict === "depends") throw new Error(`evaluator: undetermined verdict for ${packetText(p)}`);
        let got = kernelVerdict(await lab.probe(p, PROBE_MS), p);
        if (got === "drop" && expected.verdict === "accept") {
          counts.retried++;
          got = kernelVerdict(await lab.probe(p, RETRY_MS), p);
        }
        counts.packets++;
        counts[got === "accept" ? "accepted" : "dropped"]++;
        return { p, expected, got };
      }),
    );
    const wrong = results.filter((r) => r.got !== r.expected.verdict);
    if (wrong.length === 0) return;
    const profile = `--layout ${config.layout} --profile ${config.profile}${config.profile === "talos" && config.nodeAddresses ? ` --node-address ${SERVER_V4} --node-address ${SERVER_V6}` : ""}`;
    const lines = wrong.flatMap((w) => [
      `  ${packetText(w.p)}: kernel ${w.got}, evaluator ${w.expected.verdict}`,
      ...evaluationText(w.expected, evaluatorPacket(w.p)).map((l) => `    ${l}`),
    ]);
    throw new Error(
      `kernel and evaluator disagree (${profile}) on ${wrong.length} of ${packets.length} packet(s):\n${lines.join("\n")}\nconfiguration (diff.yaml):\n${configYaml(config)}`,
    );
  });
}
