// Packet rate with the firewall relative to without: the workload's ruleset in the firewall namespace
// gets its timing policy, then runs of the same packet against the firewall and against the reference
// alternate in ABBA pairs. Every run must reach the receiver's TCP layer in full on both sides.
import type { Ruleset } from "../src/compile/ruleset.js";
import { nft, type Target } from "../src/kernel/exec.js";
import { benchPacket } from "./configs.js";
import { deliveredCount, type Lab } from "./lab.js";
import { MAX_BATCH, send, type Sender } from "./sender.js";
import { abbaOrder, median, summarizePairs, type Pair, type PairedSummary, type Side } from "./stats.js";
import type { Workload } from "./workload.js";

export interface TrafficSettings {
  readonly pairs: number;
  readonly seconds: number;
  readonly cpu: number;
  readonly clock: "cpu" | "wall";
}

export interface TrafficMeasurement extends PairedSummary {
  readonly samples: readonly Pair[];
  /** Frames per sendmmsg call: sized so a run has at least ~50 calls even when packets are slow. */
  readonly batch: number;
  /** Median packets per timed run against the firewall. */
  readonly packetsPerRun: number;
}

/** The packets a run may send; the run's length bounds it first. */
const RUN_PACKET_CAP = 50_000_000;
const WARMUP_MS = 50;
const CALLS_PER_RUN = 50;

export function batchFor(nsPerPacket: number, runMs: number): number {
  const perCall = Math.floor((runMs * 1e6) / CALLS_PER_RUN / Math.max(nsPerPacket, 1));
  return Math.min(Math.max(perCall, 1), 256);
}

/**
 * Turn the loaded ruleset into its timing variant (Workload.timing) in place: only the base chains'
 * policies change, one small transaction instead of reloading the whole table.
 */
export async function setTimingPolicies(target: Target, rs: Ruleset): Promise<void> {
  const commands = rs.chains.map((c) => `chain ${rs.family} ${rs.table} ${c.name} { policy accept; }\n`).join("");
  await nft(target, ["-f", "-"], commands);
}

/** Expects the workload's real ruleset loaded in the firewall namespace (verifyWithKernel leaves it there). */
export async function measureTraffic(w: Workload, sender: Sender, lab: Lab, s: TrafficSettings): Promise<TrafficMeasurement> {
  await setTimingPolicies({ netns: lab.servers.fw }, w.ruleset);
  const probe = benchPacket(w.n, w.family, w.pattern);
  const runMs = s.seconds * 1000;

  const timed = async (side: Side, batch: number, maxMs: number): Promise<{ ns: number; sent: number }> => {
    const before = deliveredCount(lab, side);
    const r = await send(sender, lab, { side, family: w.family, probe, count: RUN_PACKET_CAP, maxMs, batch, cpu: s.cpu });
    const delivered = deliveredCount(lab, side) - before;
    if (r.sent === 0) throw new Error(`${side}: the sender sent nothing`);
    if (delivered !== r.sent) throw new Error(`${side}: ${r.sent} packets sent but ${delivered} reached the receiver's TCP layer`);
    return { ns: (s.clock === "cpu" ? r.cpuNs : r.wallNs) / r.sent, sent: r.sent };
  };

  // Warm both paths (caches, conntrack entry) and size the batch from the slower side.
  const warm = await timed("fw", 1, WARMUP_MS);
  await timed("ref", MAX_BATCH, WARMUP_MS);
  const batch = batchFor(warm.ns, runMs);

  const samples: Pair[] = [];
  const sent: number[] = [];
  for (let k = 0; k < s.pairs; k++) {
    const ns: Partial<Record<Side, number>> = {};
    for (const side of abbaOrder(k)) {
      const r = await timed(side, batch, runMs);
      ns[side] = r.ns;
      if (side === "fw") sent.push(r.sent);
    }
    samples.push({ fwNs: ns.fw!, refNs: ns.ref! });
  }
  return { ...summarizePairs(samples), samples, batch, packetsPerRun: median(sent) };
}
