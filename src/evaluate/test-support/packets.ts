// Helpers for the evaluator's tests: YAML → compiled ruleset, terse packets, and a one-line trace of
// an evaluation to compare against.
import assert from "node:assert/strict";
import { hasErrors } from "../../config/diagnostics.js";
import { loadConfig } from "../../config/load.js";
import { compileRuleset } from "../../compile/index.js";
import type { CtState } from "../../compile/ir.js";
import type { ProfileName } from "../../compile/profiles.js";
import type { Ruleset } from "../../compile/ruleset.js";
import { parseAddress, type Address } from "../../net/address.js";
import type { Decider, Evaluation } from "../evaluate.js";
import { verdictText } from "../describe.js";
import type { Packet } from "../packet.js";

export function compileYaml(text: string, opts: { profile?: ProfileName; nodeAddresses?: string[] } = {}): Ruleset {
  const { config, diagnostics } = loadConfig([{ file: "t.yaml", text }]);
  assert.equal(hasErrors(diagnostics), false, JSON.stringify(diagnostics));
  const nodeAddresses = opts.nodeAddresses?.map((a) => parseAddress(a) as Address) ?? null;
  return compileRuleset(config, { profile: opts.profile ?? "talos", nodeAddresses });
}

export interface PacketSpec {
  from: string;
  to?: string;
  proto?: "tcp" | "udp" | "icmp" | "icmpv6" | number;
  port?: number;
  type?: number;
  checksum?: number;
  iif?: string;
  state?: CtState;
  origTo?: string;
  origPort?: number;
  forwarded?: boolean;
}

const PROTOS = { tcp: 6, udp: 17, icmp: 1, icmpv6: 58 } as const;

export function packet(s: PacketSpec): Packet {
  const src = parseAddress(s.from)!;
  const dst = parseAddress(s.to ?? (src.family === 4 ? "192.0.2.1" : "2001:db8::1"))!;
  const protocol = typeof s.proto === "number" ? s.proto : PROTOS[s.proto ?? "tcp"];
  return {
    iif: s.iif ?? "eth0",
    family: src.family,
    src: src.value,
    dst: dst.value,
    protocol,
    ...(s.port !== undefined ? { dport: s.port } : {}),
    ...(protocol === 1 || protocol === 58 ? { icmpType: s.type ?? (protocol === 1 ? 8 : 128) } : {}),
    ...(s.checksum !== undefined ? { icmpChecksum: s.checksum } : {}),
    ctState: s.state ?? "new",
    ...(s.origTo !== undefined ? { origDst: parseAddress(s.origTo)!.value } : {}),
    ...(s.origPort !== undefined ? { origDport: s.origPort } : {}),
    ...(s.forwarded ? { forwarded: true } : {}),
  };
}

function deciderName(d: Decider): string {
  switch (d.kind) {
    case "rule":
      return `${d.chain}[${d.index}]:${d.origin.kind === "rule" ? d.origin.name : d.origin.id}:${d.verdict}`;
    case "policy":
      return `${d.chain}:policy:${d.verdict}`;
    case "unfiltered":
      return "unfiltered";
  }
}

/** `verdict | chain[index]:name:verdict > …`, e.g. `drop | ingress:policy:drop`. */
export function trace(e: Evaluation): string {
  if (e.verdict === "depends") {
    return `depends on ${e.on}: ${e.cases.map((c) => `${c.values.map((v) => (v.lo === v.hi ? v.lo : `${v.lo}-${v.hi}`)).join(",")} => ${trace(c.decision)}`).join("; ")}`;
  }
  const chains = e.chains.length ? e.chains.map(deciderName).join(" > ") : deciderName(e.by);
  return `${verdictText(e)} | ${chains}`;
}
