import { spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { InvalidArgumentError, type Command } from "commander";
import { DEFAULT_TABLE } from "../../compile/ruleset.js";
import { describeTarget, KernelError, nft, type Target } from "../../kernel/exec.js";
import { chainsFromListing, tableFromListing, type ListedObject } from "../../kernel/nft-listing.js";
import { readState, STATE_FILE, StateError, type AppliedState } from "../../kernel/state.js";
import { buildStatus, readRulesetForStatus } from "../../kernel/status.js";
import { AddressParseError, type Prefix } from "../../net/address.js";
import {
  parseFrom,
  parseTraceLine,
  removeTraceChainCommands,
  TRACE_CHAIN,
  traceChainCommands,
  traceChainName,
  TraceCollector,
  tracedPacketText,
  type RuleAttribution,
  type TracedPacket,
} from "../../observe/trace.js";
import { EXIT, UserError } from "../exit-codes.js";
import { choice, parseTableName } from "../options.js";
import { addTargetOption, kernelCall, stateDirOf, targetOf, type TargetOptions } from "./apply.js";
import { parseCount } from "./logs.js";

interface TraceOptions extends TargetOptions {
  from?: Prefix;
  port?: number;
  count: number;
  seconds: number;
  table?: string;
  output: "text" | "json";
}

/** A packet whose path shows no drop is printed once nothing more was traced for it this long. */
const SETTLE_MS = 400;
const MONITOR_READY_MS = 5000;

function parseFromOption(v: string): Prefix {
  try {
    return parseFrom(v);
  } catch (e) {
    if (e instanceof AddressParseError) throw new InvalidArgumentError(e.message);
    throw e;
  }
}

function parsePort(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 65535) throw new InvalidArgumentError("a port from 0 to 65535");
  return n;
}

function parseSeconds(v: string): number {
  const n = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v) || n <= 0 || n > 3600) throw new InvalidArgumentError("seconds, more than 0 and at most 3600");
  return n;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
};

/** Rule handle → position and document, by aligning the live table with the last applied state (as status does). */
function attributions(
  target: Target,
  table: string,
  listing: readonly ListedObject[],
  ruleTexts: ReadonlyMap<number, string>,
  state: AppliedState | null,
  dir: string,
) {
  const report = buildStatus({ target, family: "inet", table, listing, ruleTexts, state, stateFile: join(dir, STATE_FILE), stateProblem: null });
  const raw = tableFromListing(listing, "inet", table);
  const byHandle = new Map<number, RuleAttribution>();
  for (const r of report.rules) {
    const handle = raw?.rules.filter((x) => x.chain === r.chain)[r.index - 1]?.handle;
    if (handle !== undefined) byHandle.set(handle, { chain: r.chain, index: r.index, origin: r.origin, pos: r.pos });
  }
  return byHandle;
}

async function removeStaleTraceChains(target: Target, table: string, listing: readonly ListedObject[]): Promise<void> {
  for (const c of chainsFromListing(listing).chains) {
    if (c.family !== "inet" || c.table !== table || !TRACE_CHAIN.test(c.name)) continue;
    if (alive(Number(c.name.slice("trace-".length)))) continue;
    await nft(target, ["-f", "-"], removeTraceChainCommands(table, c.name)).catch(() => {});
  }
}

export function registerTrace(program: Command): void {
  const cmd = program.command("trace").description("trace matching packets through ingressfw's chains and name the rule and document that decide them");
  addTargetOption(cmd)
    .option("--from <cidr>", "only packets from this address or prefix", parseFromOption)
    .option("--port <n>", "only TCP/UDP packets to this destination port", parsePort)
    .option("--count <n>", "stop after this many packets", parseCount, 10)
    .option("--seconds <s>", "stop after this many seconds", parseSeconds, 60)
    .option("--table <name>", `table name (family inet; default: the table of the last apply, else ${DEFAULT_TABLE})`, parseTableName)
    .option("--output <format>", "text, or json (one JSON object per packet)", choice(["text", "json"] as const), "text")
    .option("--state-dir <dir>", "where the last applied state is kept (default /var/lib/ingressfw/<netns or host>)")
    .addHelpText(
      "after",
      `
Adds a chain trace-<pid> to ingressfw's table (hook prerouting, priority ${-350}, before ingressfw's
chains) that sets 'meta nftrace set 1' on matching packets only, reads 'nft monitor trace', and prints
per packet every rule that matched in ingressfw's chains and the verdict, with the document behind
it. The chain is removed when trace ends: after --count packets or --seconds, on Ctrl-C and on
failure (a chain left by a killed trace is removed by the next one). Drift checks ignore trace-* chains.

Exit codes: 0 ok, 1 failure (also: the table is not present), 64 usage, 69 nft missing, 77 no permission.

Examples:
  ingressfw trace --from 203.0.113.7 --port 10250 --count 1
  ingressfw trace --netns lab-node1 --port 22 --seconds 30`,
    )
    .action(async (opts: TraceOptions) => {
      const target = targetOf(opts);
      const dir = stateDirOf(opts, target);
      let state: AppliedState | null = null;
      try {
        state = readState(dir);
      } catch (e) {
        if (!(e instanceof StateError)) throw e;
      }
      const table = opts.table ?? state?.ruleset.table ?? DEFAULT_TABLE;
      const { listing, ruleTexts } = await kernelCall(() => readRulesetForStatus(target, "inet", table));
      if (!tableFromListing(listing, "inet", table)) {
        throw new UserError(`table inet ${table} is not present in ${describeTarget(target)}: nothing to trace (apply first)`, EXIT.FAILURE);
      }
      const byHandle = attributions(target, table, listing, ruleTexts, state, dir);
      await kernelCall(() => removeStaleTraceChains(target, table, listing));
      const chain = traceChainName(process.pid);
      await kernelCall(() => traceSession(target, table, chain, opts, byHandle));
    });
}

async function traceSession(target: Target, table: string, chain: string, opts: TraceOptions, byHandle: ReadonlyMap<number, RuleAttribution>): Promise<void> {
  const [file, argv] = target.netns ? ["ip", ["netns", "exec", target.netns, "nft", "-a", "monitor"]] : ["nft", ["-a", "monitor"]];
  const monitor = spawn(file, argv, { stdio: ["ignore", "pipe", "pipe"] });
  let monitorError = "";
  monitor.stderr.on("data", (b: Buffer) => (monitorError += b.toString()));
  const collector = new TraceCollector(chain, (h) => byHandle.get(h) ?? null);
  const lastSeen = new Map<string, number>();
  let printed = 0;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  const emit = (p: TracedPacket | null) => {
    if (!p || printed >= opts.count) return;
    printed++;
    process.stdout.write(opts.output === "json" ? JSON.stringify(p) + "\n" : tracedPacketText(p, printed).join("\n") + "\n");
    if (printed >= opts.count) finish();
  };
  createInterface({ input: monitor.stdout }).on("line", (line) => {
    if (line.startsWith(`add chain inet ${table} ${chain} `)) markReady();
    const e = parseTraceLine(line, "inet", table);
    if (!e) return;
    collector.add(e);
    lastSeen.set(e.id, Date.now());
    if (collector.dropped(e.id)) {
      lastSeen.delete(e.id);
      emit(collector.take(e.id));
    }
  });
  monitor.on("close", () => finish());
  monitor.on("error", () => finish());
  const onSignal = () => finish();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const settle = setInterval(() => {
    const now = Date.now();
    for (const [id, t] of lastSeen) {
      if (now - t < SETTLE_MS) continue;
      lastSeen.delete(id);
      emit(collector.take(id));
    }
  }, 100);
  const deadline = setTimeout(finish, opts.seconds * 1000);
  let added = false;
  try {
    await nft(target, ["-f", "-"], traceChainCommands(table, chain, opts));
    added = true;
    // The monitor echoes the chain being added: from then on it sees every trace event.
    const listening = await Promise.race([ready.then(() => true), finished.then(() => false), delay(MONITOR_READY_MS).then(() => false)]);
    if (!listening) {
      throw new KernelError("failed", `nft monitor did not start in ${describeTarget(target)}: ${monitorError.trim() || "no output"}`);
    }
    process.stderr.write(`ingressfw: tracing ${describeTarget(target)} in chain ${chain} (up to ${opts.count} packet(s), ${opts.seconds} s)\n`);
    await finished;
    // What is still open had no drop: print it as it stands.
    for (const id of collector.ids()) emit(collector.take(id));
  } finally {
    clearInterval(settle);
    clearTimeout(deadline);
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
    monitor.kill();
    // An apply meanwhile replaced the table, and the chain with it: nothing is left to remove.
    if (added) await nft(target, ["-f", "-"], removeTraceChainCommands(table, chain)).catch((e: unknown) => ignoreMissing(e));
  }
  if (printed === 0) process.stderr.write("ingressfw: no matching packet was traced\n");
}

function ignoreMissing(e: unknown): void {
  if (!(e instanceof KernelError && /No such file or directory/.test(e.message))) throw e;
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
