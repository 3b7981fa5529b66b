// Equivalence of the two layouts (issue 6): for random configurations and random packets the evaluator
// reaches the same verdict on the per-rule and the port-map compilation — and the same deciding rule
// (document, Talos's fixed rule or chain policy) in every chain the packet meets, so `check` and the
// counters name the same document whichever layout is applied. EQUIV_SEED replays a run.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { formatDiagnostic, hasErrors } from "../../config/diagnostics.js";
import { loadConfig } from "../../config/load.js";
import { evaluate, type Decider, type Decision, type Evaluation } from "../../evaluate/evaluate.js";
import { evaluationText } from "../../evaluate/describe.js";
import type { Packet } from "../../evaluate/packet.js";
import { parseAddress, parsePrefix, prefixRange, type Address, type Family } from "../../net/address.js";
import { compileRuleset } from "../index.js";
import { disjointPorts } from "../../../test/support/differential.js";
import { originLabel, type CtState } from "../ir.js";
import { renderText } from "../nft-text.js";
import type { ProfileName } from "../profiles.js";

const SUBNETS_V4 = [
  "10.0.0.0/8",
  "10.1.0.0/16",
  "10.1.2.0/24",
  "10.1.2.128/25",
  "10.1.2.3/32",
  "10.2.0.0/15",
  "11.0.0.0/8",
  "192.168.0.0/16",
  "0.0.0.0/0",
  "10.244.0.0/16",
];
const SUBNETS_V6 = ["fd00::/8", "fd00:1::/32", "fd00:1:2::/48", "fd00:1:2::5/128", "::/0", "2001:db8::/32", "fd00:10:244::/56"];
const SUBNETS = [...SUBNETS_V4, ...SUBNETS_V6];
/** Port list items: single ports and ranges that overlap each other, both ends of the port space. */
const PORT_ITEMS: readonly (number | string)[] = [0, 5, 22, 53, 80, "80-90", "85-100", 443, "1-1023", "1000-2000", 65535, "0-65535", "4-6", 8080];
/** Every boundary of the items above, ±1: where a verdict can change. */
const PROBE_PORTS = [0, 1, 4, 5, 6, 7, 21, 22, 23, 52, 53, 54, 79, 80, 84, 85, 90, 91, 100, 101, 443, 999, 1000, 1023, 1024, 2000, 2001, 8080, 65534, 65535];
const NODE_V4 = "10.3.4.5";
const NODE_V6 = "fd00:3::5";

/** Sources at the edges of every subnet (first and last address, ±1). */
function edgeSources(): Address[] {
  const out = new Map<string, Address>();
  for (const text of SUBNETS) {
    const p = parsePrefix(text);
    const { lo, hi } = prefixRange(p);
    const max = p.family === 4 ? (1n << 32n) - 1n : (1n << 128n) - 1n;
    for (const v of [lo - 1n, lo, hi, hi + 1n]) if (v >= 0n && v <= max) out.set(`${p.family}:${v}`, { family: p.family, value: v } as Address);
  }
  return [...out.values()];
}
const SOURCES = edgeSources();

interface RuleSpec {
  readonly protocol: "tcp" | "udp" | "icmp" | "icmpv6" | null;
  readonly ports: readonly (number | string)[];
  readonly ingress: readonly { readonly subnet: string; readonly except: string | null }[];
}

interface ConfigSpec {
  readonly mode: "accept" | "block" | "none";
  readonly profile: ProfileName;
  readonly nodeAddresses: boolean;
  /** A v1alpha1 main document with dual-stack pod/service subnets and host DNS (the talos profile's extra rules). */
  readonly main: boolean;
  readonly rules: readonly RuleSpec[];
}

const ruleArb: fc.Arbitrary<RuleSpec> = fc.record({
  protocol: fc.constantFrom("tcp" as const, "udp" as const, "tcp" as const, "icmp" as const, "icmpv6" as const, null),
  ports: fc.uniqueArray(fc.constantFrom(...PORT_ITEMS), { minLength: 1, maxLength: 3 }).map(disjointPorts),
  ingress: fc.array(fc.record({ subnet: fc.constantFrom(...SUBNETS), except: fc.option(fc.constantFrom(...SUBNETS), { nil: null }) }), { maxLength: 3 }),
});

const configArb: fc.Arbitrary<ConfigSpec> = fc.record({
  mode: fc.constantFrom("accept" as const, "block" as const, "none" as const),
  profile: fc.constantFrom("talos" as const, "talos-1.7" as const),
  nodeAddresses: fc.boolean(),
  main: fc.boolean(),
  rules: fc.array(ruleArb, { maxLength: 7 }),
});

function configYaml(c: ConfigSpec): string {
  const docs = c.mode === "none" ? [] : [`apiVersion: v1alpha1\nkind: NetworkDefaultActionConfig\ningress: ${c.mode}\n`];
  if (c.main) {
    docs.push(
      "version: v1alpha1\nmachine: {features: {hostDNS: {forwardKubeDNSToHost: true}}}\ncluster:\n  network:\n    podSubnets: [10.244.0.0/16, fd00:10:244::/56]\n    serviceSubnets: [10.96.0.0/12]\n",
    );
  }
  c.rules.forEach((r, i) => {
    const ingress = r.ingress.map((e) => `  - subnet: ${e.subnet}${e.except ? `\n    except: ${e.except}` : ""}`).join("\n");
    const protocol = r.protocol ? `\n  protocol: ${r.protocol}` : "";
    docs.push(
      `apiVersion: v1alpha1\nkind: NetworkRuleConfig\nname: r${i}\nportSelector:\n  ports: [${r.ports.join(", ")}]${protocol}\ningress:${ingress ? `\n${ingress}` : " []"}\n`,
    );
  });
  return docs.join("---\n");
}

interface PacketSpec {
  readonly src: Address;
  readonly dst: "node" | "other" | "dns" | "pod";
  readonly protocol: "tcp" | "udp" | "icmp" | "sctp";
  readonly port: number | null;
  readonly icmpType: number;
  readonly state: CtState;
  readonly iif: string;
  /** DNAT'd from the node address (and port): prerouting sees the original; forwarded when not local. */
  readonly dnat: { readonly port: number; readonly forwarded: boolean } | null;
}

const packetArb: fc.Arbitrary<PacketSpec> = fc.record({
  src: fc.constantFrom(...SOURCES),
  dst: fc.constantFrom("node" as const, "node" as const, "other" as const, "dns" as const, "pod" as const),
  protocol: fc.constantFrom("tcp" as const, "tcp" as const, "udp" as const, "icmp" as const, "sctp" as const),
  port: fc.option(fc.constantFrom(...PROBE_PORTS), { nil: null, freq: 8 }),
  icmpType: fc.constantFrom(0, 8, 13, 128, 135),
  state: fc.constantFrom("new" as const, "new" as const, "new" as const, "established" as const, "related" as const, "invalid" as const),
  iif: fc.constantFrom("eth0", "eth0", "eth0", "lo", "kubespan"),
  dnat: fc.option(fc.record({ port: fc.constantFrom(...PROBE_PORTS), forwarded: fc.boolean() }), { nil: null, freq: 4 }),
});

const DESTINATIONS: Record<PacketSpec["dst"], Record<Family, string>> = {
  node: { 4: NODE_V4, 6: NODE_V6 },
  other: { 4: "192.0.2.1", 6: "2001:db8:ffff::1" },
  dns: { 4: "169.254.116.108", 6: "fd54:616c:6f73::204f:5320:444e:531" },
  pod: { 4: "10.96.0.1", 6: "fd00:10:244::99" },
};
const PROTOCOLS = { tcp: 6, udp: 17, sctp: 132 } as const;

function toPacket(s: PacketSpec): Packet {
  const family = s.src.family;
  const addr = (t: string) => parseAddress(t)!.value;
  const icmp = s.protocol === "icmp";
  const protocol = icmp ? (family === 4 ? 1 : 58) : PROTOCOLS[s.protocol];
  return {
    iif: s.iif,
    family,
    src: s.src.value,
    dst: addr(s.dnat ? DESTINATIONS.other[family] : DESTINATIONS[s.dst][family]),
    protocol,
    ...(icmp ? { icmpType: s.icmpType } : {}),
    ...(s.port === null ? {} : icmp ? { icmpChecksum: s.port } : { dport: s.port }),
    ctState: s.state,
    ...(s.dnat && !icmp ? { origDst: addr(DESTINATIONS.node[family]), origDport: s.dnat.port, ...(s.dnat.forwarded ? { forwarded: true } : {}) } : {}),
  };
}

/** What decided, independent of the layout: the document or fixed rule, or the policy of a base chain. */
function deciderLabel(d: Decider): string {
  switch (d.kind) {
    case "rule": {
      const above = d.aboveRate ? ` [above rate: ${decisionLabel(d.aboveRate)}]` : "";
      return `${d.hook}:${d.verdict}:${originLabel(d.origin)}${above}`;
    }
    case "policy":
      return `${d.hook}:${d.verdict}:policy`;
    case "unfiltered":
      return "unfiltered";
  }
}

function decisionLabel(d: Decision): string {
  return `${d.verdict} (${d.chains.length ? d.chains.map(deciderLabel).join(" > ") : deciderLabel(d.by)})`;
}

/** Per value of transport bytes 2..3 (merged runs), or one label when the packet determines them. */
function evaluationLabel(e: Evaluation): string {
  if (e.verdict !== "depends") return decisionLabel(e);
  const runs = e.cases
    .flatMap((c) => c.values.map((v) => ({ ...v, label: decisionLabel(c.decision) })))
    .sort((a, b) => a.lo - b.lo)
    .reduce<{ lo: number; hi: number; label: string }[]>((acc, r) => {
      const last = acc[acc.length - 1];
      if (last && last.label === r.label && last.hi + 1 === r.lo) last.hi = r.hi;
      else acc.push({ ...r });
      return acc;
    }, []);
  // Layouts may split the values differently (several chains of one document): compare what decides per value.
  if (runs.length === 1) return runs[0]!.label;
  return `depends on ${e.on}: ${runs.map((r) => `${r.lo}-${r.hi} ${r.label}`).join("; ")}`;
}

describe("port-map layout ≡ per-rule layout (evaluator)", () => {
  it("gives the same verdict and deciding rule for random configurations and packets", () => {
    const seed = process.env.EQUIV_SEED ? Number(process.env.EQUIV_SEED) : Date.now() % 2 ** 31;
    let packets = 0;
    let portMapRules = 0;
    try {
      fc.assert(
        fc.property(configArb, fc.array(packetArb, { minLength: 1, maxLength: 40, size: "max" }), (spec, pkts) => {
          const yaml = configYaml(spec);
          const { config, diagnostics } = loadConfig([{ file: "eq.yaml", text: yaml }]);
          if (hasErrors(diagnostics)) throw new Error(`generator made an invalid configuration:\n${diagnostics.map(formatDiagnostic).join("\n")}\n${yaml}`);
          const nodeAddresses = spec.nodeAddresses ? [parseAddress(NODE_V4)!, parseAddress(NODE_V6)!] : null;
          const opts = { profile: spec.profile, nodeAddresses };
          const perRule = compileRuleset(config, { ...opts, layout: "per-rule" });
          const portMap = compileRuleset(config, { ...opts, layout: "port-map" });
          portMapRules += portMap.regularChains?.length ?? 0;
          for (const s of pkts) {
            const pkt = toPacket(s);
            const a = evaluate(perRule, pkt);
            const b = evaluate(portMap, pkt);
            packets++;
            const la = evaluationLabel(a);
            const lb = evaluationLabel(b);
            if (la !== lb) {
              assert.fail(
                `per-rule: ${la}\nport-map: ${lb}\n${evaluationText(b, pkt).join("\n")}\nconfiguration (profile ${spec.profile}, node addresses ${spec.nodeAddresses}):\n${yaml}\n${renderText(portMap)}`,
              );
            }
          }
        }),
        { numRuns: 1500, seed, includeErrorInReport: true },
      );
    } finally {
      console.log(`port-map equivalence (seed ${seed}): ${packets} packets compared`);
    }
    assert.ok(portMapRules > 0, "the generator must produce port-map chains");
  });
});
