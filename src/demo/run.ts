// `ingressfw demo`: build the lab, apply the seed's examples through applyRuleset, probe every
// (source, destination, service) with real traffic, print the matrix, remove the lab (also when
// interrupted or failing, unless --keep).
import { compileRuleset } from "../compile/index.js";
import { formatDiagnostic, hasErrors } from "../config/diagnostics.js";
import { loadConfig } from "../config/load.js";
import { applyRuleset, type ApplyResult } from "../kernel/apply.js";
import { parseAddress, type Address } from "../net/address.js";
import { Agent } from "./agents.js";
import { LabNetwork, findLabNamespaces } from "./lab.js";
import { HOSTS, LAB_PREFIX, NODES, SERVICES, addressOf, allProbes, templateVariables, type LabHost, type Probe } from "./plan.js";
import { mapLimit } from "./pool.js";
import { Progress, seconds } from "./progress.js";
import { promised } from "./promises.js";
import { cellMatches, renderKeepHelp, renderLab, renderMatrix, renderPromises, renderSummary, style, type Cell } from "./report.js";
import { seedDocument } from "./templates.js";

/** Probes in flight at once, across all agents. */
const CONCURRENCY = 64;
/** A dropped packet is never answered: this is how long a probe waits before calling it dropped. */
const PROBE_TIMEOUT_MS = 400;
/** A cell that timed out where the seed promises open is probed once more with this timeout (a busy machine, not the firewall). */
const RECHECK_TIMEOUT_MS = 2_000;

export class LabExistsError extends Error {}

export interface DemoOptions {
  readonly keep: boolean;
  /** false when no ping program is installed: ICMP cells are skipped. */
  readonly icmp: boolean;
  /** Colour on stdout (the report) and on stderr (the progress lines). */
  readonly color: boolean;
  readonly errColor: boolean;
  readonly out: NodeJS.WritableStream;
  readonly err: NodeJS.WritableStream & { isTTY?: boolean };
  /** Aborted on SIGINT/SIGTERM: the demo stops and removes the lab. */
  readonly signal: AbortSignal;
}

export interface DemoResult {
  readonly cells: readonly Cell[];
  readonly mismatches: number;
}

function nodeAddresses(h: LabHost): Address[] {
  return [parseAddress(h.ipv4)!, parseAddress(h.ipv6)!];
}

/** Compile the filled-in seed example for each node (its own addresses for the prerouting chain) and apply it. */
async function applySeed(vars: Readonly<Record<string, string>>): Promise<ApplyResult[]> {
  return Promise.all(
    NODES.map(async (node) => {
      const role = node.role === "controlplane" ? "controlplane" : "worker";
      const loaded = loadConfig([seedDocument(role, vars)]);
      if (hasErrors(loaded.diagnostics)) {
        throw new Error(`the seed's ${role} example does not validate:\n${loaded.diagnostics.map(formatDiagnostic).join("\n")}`);
      }
      // The layout `apply` uses by default, so the matrix shows what an apply gives.
      const ruleset = compileRuleset(loaded.config, { layout: "port-map", nodeAddresses: nodeAddresses(node) });
      return applyRuleset({ netns: node.netns }, ruleset);
    }),
  );
}

/** Start one agent per host (listeners on the nodes only); on failure the ones that started are stopped. */
async function startAgents(signal: AbortSignal): Promise<Map<string, Agent>> {
  const tcp = SERVICES.filter((s) => s.proto === "tcp").map((s) => s.port);
  const udp = SERVICES.filter((s) => s.proto === "udp").map((s) => s.port);
  const started = await Promise.allSettled(HOSTS.map((h) => Agent.start(h.netns, h.role === "external" ? { tcp: [], udp: [] } : { tcp, udp }, signal)));
  const agents = started.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const failed = started.find((r) => r.status === "rejected");
  if (failed) {
    await Promise.all(agents.map((a) => a.stop()));
    throw failed.reason;
  }
  return new Map(HOSTS.map((h, i) => [h.name, agents[i]!])); // all fulfilled: same order as HOSTS
}

async function probeOnce(agents: ReadonlyMap<string, Agent>, p: Probe, timeoutMs: number, icmp: boolean): Promise<Cell> {
  const expected = promised(p);
  if (p.service.proto === "icmp" && !icmp) return { probe: p, observed: "skipped", promised: expected };
  const answer = await agents.get(p.source.name)!.probe({ proto: p.service.proto, host: addressOf(p.dest, p.family), port: p.service.port, timeoutMs });
  return { probe: p, ...answer, promised: expected };
}

async function probeAll(agents: ReadonlyMap<string, Agent>, opts: DemoOptions, progress: Progress): Promise<Cell[]> {
  const probes = allProbes();
  let done = 0;
  const cells = await progress.step(
    `probing ${probes.length} (source, destination, service) combinations, ${CONCURRENCY} at a time, ${PROBE_TIMEOUT_MS} ms timeout`,
    (update) =>
      mapLimit(
        probes,
        CONCURRENCY,
        async (p) => {
          const cell = await probeOnce(agents, p, PROBE_TIMEOUT_MS, opts.icmp);
          update(`${++done}/${probes.length}`);
          return cell;
        },
        opts.signal,
      ),
    (cs) => `${cs.filter((c) => c.observed === "open").length} open, ${cs.filter((c) => c.observed === "drop").length} dropped`,
  );
  const late = cells.flatMap((c, i) => (c.observed === "drop" && c.promised === "open" ? [i] : []));
  if (late.length === 0) return cells;
  const rechecked = await progress.step(
    `${late.length} cell(s) timed out where the seed promises open: probing them again with ${RECHECK_TIMEOUT_MS} ms`,
    () => mapLimit(late, 8, (i) => probeOnce(agents, cells[i]!.probe, RECHECK_TIMEOUT_MS, opts.icmp), opts.signal),
    (cs) => `${cs.filter((c) => c.observed === "open").length} open now`,
  );
  late.forEach((i, k) => (cells[i] = rechecked[k]!));
  return cells;
}

export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  const existing = await findLabNamespaces();
  if (existing.length > 0) {
    throw new LabExistsError(
      `a demo lab is already up (${existing.length} namespaces ${LAB_PREFIX}*), left by 'demo --keep' or an interrupted run; remove it with 'ingressfw demo --clean'`,
    );
  }
  const progress = new Progress(opts.err, style(opts.errColor).dim);
  const vars = templateVariables();
  const net = new LabNetwork();
  let agents = new Map<string, Agent>();
  let kept = false;
  const t0 = performance.now();
  opts.signal.throwIfAborted();
  const onAbort = () => {
    const reason: unknown = opts.signal.reason;
    progress.interrupt(`ingressfw demo: ${reason instanceof Error ? reason.message : String(reason)}: stopping and removing the lab`);
  };
  opts.signal.addEventListener("abort", onAbort, { once: true });
  opts.err.write(`ingressfw demo: a throwaway lab of network namespaces (${LAB_PREFIX}*), the seed's examples applied, real traffic\n`);
  try {
    await progress.step(
      "creating the lab: 3 control planes, 1 worker, 1 external client on one bridge, IPv4 + IPv6",
      () => net.build(),
      () => "done",
    );
    opts.signal.throwIfAborted();
    await progress.step(
      "applying controlplane.yaml to cp1 cp2 cp3, worker.yaml to worker",
      () => applySeed(vars),
      (rs) => `applied (port-map layout) and read back: ${rs.map((r) => r.ruleCount).join(", ")} rules, one nft transaction each`,
    );
    opts.signal.throwIfAborted();
    agents = await progress.step(
      `starting listeners on ${SERVICES.filter((s) => s.proto !== "icmp")
        .map((s) => `${s.port}/${s.proto}`)
        .join(" ")} in every node`,
      () => startAgents(opts.signal),
      (m) => `${m.size} agents up`,
    );
    const cells = await probeAll(agents, opts, progress);
    if (!opts.icmp) progress.note("ICMP skipped: no ping program (Debian: apt-get install iputils-ping)");

    opts.out.write(
      `${renderLab(vars)}\n${renderPromises()}\n${renderMatrix(cells, { color: opts.color, timeoutMs: PROBE_TIMEOUT_MS })}\n${renderSummary(cells, { color: opts.color })}`,
    );
    if (opts.keep) {
      await Promise.all([...agents.values()].map((a) => a.detach()));
      kept = true;
      opts.out.write(`\n${renderKeepHelp()}`);
    }
    return { cells, mismatches: cells.filter((c) => !cellMatches(c)).length };
  } finally {
    if (!kept) {
      await progress.step(
        "removing the lab",
        async () => {
          await Promise.all([...agents.values()].map((a) => a.stop()));
          return net.destroy();
        },
        (left) => (left.length === 0 ? "done" : `could not delete ${left.join(", ")} (run 'ingressfw demo --clean')`),
      );
    }
    opts.signal.removeEventListener("abort", onAbort);
    opts.err.write(`ingressfw demo: finished in ${seconds(performance.now() - t0)}\n`);
  }
}
