// Before a workload is timed: does its compiled ruleset implement the intended policy? The evaluator
// must give every probe the intended verdict, the timing variant must accept the bench packet, and the
// kernel, holding the real ruleset, must deliver exactly the probes the intended policy accepts.
import { applyRuleset } from "../src/kernel/apply.js";
import { evaluate } from "../src/evaluate/evaluate.js";
import { PROTO_TCP, type Packet } from "../src/evaluate/packet.js";
import type { Ruleset } from "../src/compile/ruleset.js";
import { parseAddress, type Family } from "../src/net/address.js";
import { benchPacket, intendedVerdict, probes, SERVER_ADDRESS, type Intended, type Probe } from "./configs.js";
import { deliveredCount, SERVER_IFACE, type Lab } from "./lab.js";
import { send, type Sender } from "./sender.js";
import type { Workload } from "./workload.js";

/** Packets per kernel probe: enough that a partial verdict (a rate limit, a race) shows. */
const PROBE_PACKETS = 64;
const PROBE_MAX_MS = 2000;

export interface ProbeCheck {
  readonly src: string;
  readonly dport: number;
  readonly intended: Intended;
  readonly evaluator: Intended | "depends";
  /** Packets the kernel delivered past the firewall out of `sent`; absent when not sent. */
  readonly kernel?: { readonly sent: number; readonly delivered: number };
}

export interface Verification {
  readonly ok: boolean;
  readonly probes: readonly ProbeCheck[];
  readonly problems: readonly string[];
}

function address(text: string): bigint {
  const a = parseAddress(text);
  if (!a) throw new Error(`not an address: ${text}`);
  return a.value;
}

export function benchEvaluatorPacket(family: Family, probe: Probe): Packet {
  return { iif: SERVER_IFACE, family, src: address(probe.src), dst: address(SERVER_ADDRESS[family]), protocol: PROTO_TCP, dport: probe.dport, ctState: "new" };
}

export function evaluatorVerdict(rs: Ruleset, family: Family, probe: Probe): Intended | "depends" {
  return evaluate(rs, benchEvaluatorPacket(family, probe)).verdict;
}

function probeText(p: Probe): string {
  return `${p.src} → port ${p.dport}`;
}

/** The pure half: evaluator against intended policy, for the real and the timing ruleset. */
export function verifyWithEvaluator(w: Workload): Verification {
  const problems: string[] = [];
  const checks = probes(w.n, w.family, w.pattern).map((probe): ProbeCheck => {
    const intended = intendedVerdict(w.rules, probe);
    const evaluator = evaluatorVerdict(w.ruleset, w.family, probe);
    if (evaluator !== intended) problems.push(`evaluator: ${probeText(probe)} is ${evaluator}, intended ${intended}`);
    return { src: probe.src, dport: probe.dport, intended, evaluator };
  });
  const packet = benchPacket(w.n, w.family, w.pattern);
  const timed = evaluatorVerdict(w.timing, w.family, packet);
  if (timed !== "accept") problems.push(`evaluator: the timing ruleset gives the bench packet ${timed}, not accept`);
  return { ok: problems.length === 0, probes: checks, problems };
}

/** The kernel half: load the real ruleset into the firewall namespace and send every probe. */
export async function verifyWithKernel(w: Workload, checked: Verification, sender: Sender, lab: Lab, cpu: number): Promise<Verification> {
  await applyRuleset({ netns: lab.servers.fw }, w.ruleset);
  const problems = [...checked.problems];
  const out: ProbeCheck[] = [];
  for (const c of checked.probes) {
    const before = deliveredCount(lab, "fw");
    const r = await send(sender, lab, { side: "fw", family: w.family, probe: c, count: PROBE_PACKETS, maxMs: PROBE_MAX_MS, batch: 16, cpu });
    const delivered = deliveredCount(lab, "fw") - before;
    const expected = c.intended === "accept" ? r.sent : 0;
    if (r.sent !== PROBE_PACKETS || delivered !== expected) {
      problems.push(`kernel: ${probeText(c)} delivered ${delivered} of ${r.sent} packets, intended ${c.intended}`);
    }
    out.push({ ...c, kernel: { sent: r.sent, delivered } });
  }
  return { ok: problems.length === 0, probes: out, problems };
}
