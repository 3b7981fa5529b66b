import { InvalidArgumentError, type Command } from "commander";
import { readFileSync } from "node:fs";
import { compileRuleset } from "../../compile/index.js";
import type { CtState } from "../../compile/ir.js";
import { PROFILES, type ProfileName } from "../../compile/profiles.js";
import { parseFlows, type ParsedFlows } from "../../evaluate/conntrack.js";
import { evaluationJson, evaluationText, packetJson, type Json } from "../../evaluate/describe.js";
import { evaluate, type Evaluation } from "../../evaluate/evaluate.js";
import { flowReportJson, flowReportText } from "../../evaluate/flow-report.js";
import { localFromAddresses, previewFlows, type LocalAddresses } from "../../evaluate/flows.js";
import { LiveReadError, readConntrack, readLocalAddresses } from "../../evaluate/live.js";
import { PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP, type Packet } from "../../evaluate/packet.js";
import { discoverNodeAddresses } from "../../kernel/node-addresses.js";
import { KernelError, type Target } from "../../kernel/exec.js";
import { parseAddress, type Address } from "../../net/address.js";
import { EXIT, UserError } from "../exit-codes.js";
import { loadInput } from "../load-input.js";
import { choice, collectAddress, parseProfile } from "../options.js";

type ProtoName = "tcp" | "udp" | "icmp" | "icmpv6";
const PROTOCOLS: Record<ProtoName, number> = { tcp: PROTO_TCP, udp: PROTO_UDP, icmp: PROTO_ICMP, icmpv6: PROTO_ICMPV6 };
const CT_STATES: readonly CtState[] = ["new", "established", "related", "invalid"];
/** RFC 5737 / RFC 3849 documentation addresses: the default destination when neither --to nor a node address is given. */
const DOC_ADDRESS = { 4: "192.0.2.1", 6: "2001:db8::1" } as const;
/** Linux interface names are at most 15 bytes (IFNAMSIZ 16 with the NUL). */
const IFNAME_MAX = 15;

export interface PacketOptions {
  from?: Address;
  to?: Address;
  proto?: ProtoName;
  port?: number;
  icmpType?: number;
  icmpChecksum?: number;
  iface: string;
  state: CtState;
  origDst?: Address;
  origPort?: number;
  forwarded?: boolean;
}

interface CheckOptions extends PacketOptions {
  flows?: string;
  live?: boolean;
  netns?: string;
  profile: ProfileName;
  nodeAddress?: Address[];
  output: "text" | "json";
}

function parseIp(v: string): Address {
  const a = parseAddress(v);
  if (!a) throw new InvalidArgumentError(`not an IP address: ${JSON.stringify(v)}`);
  return a;
}

function intIn(max: number) {
  return (v: string): number => {
    if (!/^[0-9]+$/.test(v) || Number(v) > max) throw new InvalidArgumentError(`expected an integer 0-${max}`);
    return Number(v);
  };
}

function parseIface(v: string): string {
  if (v === "" || Buffer.byteLength(v) > IFNAME_MAX || /[\s/]/.test(v))
    throw new InvalidArgumentError(`not an interface name (1-${IFNAME_MAX} bytes, no spaces or /)`);
  return v;
}

const usage = (message: string) => new UserError(message, EXIT.USAGE);

/** The packet described by the options; usage errors for combinations that describe no real packet. */
export function packetFromOptions(o: PacketOptions, nodeAddresses: readonly Address[]): Packet {
  if (!o.from) throw usage("--from is required (or use --flows / --live)");
  if (!o.proto) throw usage("--proto is required: tcp, udp, icmp or icmpv6");
  const family = o.from.family;
  const protocol = PROTOCOLS[o.proto];
  const icmp = o.proto === "icmp" || o.proto === "icmpv6";
  if (o.proto === "icmp" && family === 6) throw usage("--proto icmp is IPv4's ICMP; for IPv6 use --proto icmpv6");
  if (o.proto === "icmpv6" && family === 4) throw usage("--proto icmpv6 is for IPv6; for IPv4 use --proto icmp");
  if (icmp && (o.port !== undefined || o.origPort !== undefined))
    throw usage("ICMP has no ports: use --icmp-type (and --icmp-checksum, which an ICMP rule's ports compare)");
  if (!icmp && (o.icmpType !== undefined || o.icmpChecksum !== undefined)) throw usage("--icmp-type and --icmp-checksum need --proto icmp or icmpv6");
  const to = o.to ?? nodeAddresses.find((a) => a.family === family) ?? parseIp(DOC_ADDRESS[family]);
  for (const [name, a] of [
    ["--to", to],
    ["--orig-dst", o.origDst],
  ] as const) {
    if (a && a.family !== family) throw usage(`${name} is IPv${a.family} but --from is IPv${family}`);
  }
  if (o.origPort !== undefined && o.origDst === undefined) throw usage("--orig-port needs --orig-dst (the destination before DNAT)");
  return {
    iif: o.iface,
    family,
    src: o.from.value,
    dst: to.value,
    protocol,
    ...(o.port !== undefined ? { dport: o.port } : {}),
    ...(icmp ? { icmpType: o.icmpType ?? (o.proto === "icmp" ? 8 : 128) } : {}),
    ...(o.icmpChecksum !== undefined ? { icmpChecksum: o.icmpChecksum } : {}),
    ctState: o.state,
    ...(o.origDst !== undefined ? { origDst: o.origDst.value } : {}),
    ...(o.origPort !== undefined ? { origDport: o.origPort } : {}),
    ...(o.forwarded ? { forwarded: true } : {}),
  };
}

/** What `check --output json` prints for one packet; it always has `verdict` (accept | drop | depends). */
export function packetReportJson(packet: Packet, e: Evaluation): { [key: string]: Json } {
  return { packet: packetJson(packet), ...evaluationJson(e) };
}

function print(o: CheckOptions, json: Json, text: () => string[]): void {
  process.stdout.write(o.output === "json" ? `${JSON.stringify(json, null, 2)}\n` : `${text().join("\n")}\n`);
}

function liveError(e: unknown): unknown {
  if (e instanceof LiveReadError) {
    const code = { "tool-missing": EXIT.NFT_MISSING, "no-permission": EXIT.NO_PERMISSION, "unknown-netns": EXIT.USAGE, failed: EXIT.FAILURE }[e.kind];
    return new UserError(e.message, code);
  }
  if (e instanceof KernelError)
    return new UserError(e.message, e.kind === "no-permission" ? EXIT.NO_PERMISSION : e.kind === "unknown-netns" ? EXIT.USAGE : EXIT.FAILURE);
  return e;
}

function readFlowsInput(path: string): ParsedFlows {
  try {
    return parseFlows(readFileSync(path === "-" ? 0 : path, "utf8"));
  } catch (e) {
    throw usage(`cannot read flows from ${path === "-" ? "standard input" : path}: ${(e as Error).message}`);
  }
}

async function runCheck(inputs: string[], o: CheckOptions): Promise<void> {
  const modes = [o.from !== undefined, o.flows !== undefined, o.live === true].filter(Boolean).length;
  if (modes !== 1) throw usage("give exactly one of --from (one packet), --flows FILE|- or --live");
  if (o.netns !== undefined && !o.live) throw usage("--netns goes with --live");
  if (o.flows === "-" && inputs.includes("-")) throw usage("standard input cannot carry both the configuration and the flows");
  const packetOnly = [o.to, o.proto, o.port, o.icmpType, o.icmpChecksum, o.origDst, o.origPort, o.forwarded].some((v) => v !== undefined) || o.state !== "new";
  if (o.from === undefined && packetOnly)
    throw usage("--to, --proto, --port, --icmp-*, --state, --orig-* and --forwarded describe one packet: use them with --from");

  const { config } = loadInput(inputs, o);
  const target: Target = o.netns !== undefined ? { netns: o.netns } : {};
  let nodeAddresses = o.nodeAddress ?? null;
  let flows: ParsedFlows | null = null;
  let local: LocalAddresses | null = null;
  if (o.live) {
    try {
      nodeAddresses ??= await discoverNodeAddresses(target, config.main, PROFILES[o.profile]);
      local = await readLocalAddresses(target);
      flows = await readConntrack(target);
    } catch (e) {
      throw liveError(e);
    }
  } else if (o.flows !== undefined) {
    flows = readFlowsInput(o.flows);
    local = nodeAddresses ? localFromAddresses(nodeAddresses) : null;
  }
  const rs = compileRuleset(config, { profile: o.profile, nodeAddresses });

  if (!flows) {
    const packet = packetFromOptions(o, nodeAddresses ?? []);
    const e = evaluate(rs, packet);
    print(o, packetReportJson(packet, e), () => evaluationText(e, packet));
    return;
  }
  const parsed = flows;
  for (const err of parsed.errors)
    process.stderr.write(`${o.live ? "conntrack -L" : o.flows === "-" ? "<stdin>" : o.flows}:${err.line}: warning: ${err.message} (line skipped)\n`);
  const report = previewFlows(rs, parsed.flows, { local, iface: o.iface });
  const note = local === null ? ["Local addresses unknown (no --node-address): every flow is taken to be addressed to this host."] : [];
  print(o, flowReportJson(report, parsed.errors), () => [...flowReportText(report, parsed.errors), ...note]);
}

export function registerCheck(program: Command): void {
  program
    .command("check")
    .description("predict what the compiled firewall does with a packet, or with every flow of a conntrack table (offline, no root)")
    .argument("<input...>", "YAML files, directories or - for stdin")
    .option("--from <ip>", "source address of the packet", parseIp)
    .option("--to <ip>", "destination (default: the first --node-address of the family, else 192.0.2.1 or 2001:db8::1)", parseIp)
    .option("--proto <proto>", "tcp, udp, icmp or icmpv6", choice<ProtoName>(["tcp", "udp", "icmp", "icmpv6"]))
    .option("--port <n>", "destination port (tcp/udp); without it the verdict is given per port range", intIn(65535))
    .option("--icmp-type <n>", "ICMP type (default 8 echo-request, ICMPv6 128)", intIn(255))
    .option("--icmp-checksum <n>", "ICMP checksum, which a port list in an ICMP rule compares (Talos #14070)", intIn(65535))
    .option("--iface <name>", "input interface (lo, siderolink and kubespan are trusted)", parseIface, "eth0")
    .option("--state <state>", "conntrack state: new, established, related or invalid", choice(CT_STATES), "new")
    .option("--orig-dst <ip>", "destination before DNAT: prerouting sees it, the input chain sees --to", parseIp)
    .option("--orig-port <n>", "destination port before DNAT (e.g. a NodePort)", intIn(65535))
    .option("--forwarded", "the destination (--to) is not local: the packet is forwarded and meets only prerouting")
    .option("--flows <file>", "flow impact preview: flows as 'conntrack -L' prints them, or CSV proto,src,dst,dport; - for stdin")
    .option("--live", "flow impact preview of the current conntrack table (runs conntrack -L; needs root)")
    .option("--netns <name>", "with --live: the network namespace 'ip netns' knows by this name")
    .option("--profile <profile>", "talos (Talos v1.14) or talos-1.7", parseProfile, "talos")
    .option("--node-address <ip>", "a node address for the prerouting chain (repeatable; talos profile)", collectAddress)
    .option("--output <format>", "text or json", choice(["text", "json"] as const), "text")
    .addHelpText(
      "after",
      `
One packet (--from): prints the verdict and why — the rule that decides it (document name and
file:line:col, or the builtin rule Talos adds), its chain and 0-based position, and its nft text — or
the chain policy. A prerouting chain exists only with --node-address (or --live); an accept there ends
only that chain and the packet goes on to the input chain. Rate-limited accepts say so, with what
happens above the rate. The exit status is 0 whatever the verdict.

Flow impact preview (--flows, --live): every flow is replayed as a NEW connection against the
configuration, as the firewall would see its first packet; those that would be dropped are listed by
destination port and source, then a summary line. Which flows matter: a flow is evaluated when its
original destination or its DNAT'd destination (the reply direction's source) is a local address;
if only the original one is, the flow is forwarded and meets only prerouting. Local addresses are,
with --live, the 'local' routes of the namespace ('ip -j route show table all type local'); with
--flows, the --node-address values plus loopback; with neither, every flow is taken to be addressed
to this host. A flow from a local or loopback address arrives on lo, any other on --iface. ICMP flows
are replayed with their recorded type; conntrack does not record the checksum an ICMP rule's ports
compare, so such verdicts are reported as undetermined. --live also discovers the node addresses
for the prerouting chain as 'apply' does, unless --node-address is given.

Examples:
  ingressfw check controlplane.yaml --from 203.0.113.7 --proto tcp --port 50000
  ingressfw check controlplane.yaml --from 172.20.0.5 --proto tcp --port 10250 --output json
  ingressfw check rules.yaml --node-address 10.3.4.5 --from 203.0.113.7 --proto tcp \\
      --orig-dst 10.3.4.5 --orig-port 30080 --to 10.244.1.9 --port 8080 --forwarded   # a NodePort
  conntrack -L | ingressfw check candidate.yaml --flows - --node-address 10.3.4.5
  ingressfw check candidate.yaml --live --netns lab-cp1`,
    )
    .action((inputs: string[], opts: CheckOptions) => runCheck(inputs, opts));
}
