import { InvalidArgumentError, type Command } from "commander";
import { parseGoDuration, DurationError } from "../../daemon/go-duration.js";
import { readState, StateError, type AppliedState } from "../../kernel/state.js";
import { startCollector, loggedGroup } from "../../observe/collector.js";
import { dropEventText, type DropEvent } from "../../observe/drop-event.js";
import { NflogBusyError } from "../../observe/nflog-reader.js";
import { appendEvent, journalPath, readEvents, tailEvents } from "../../observe/journal.js";
import { choice } from "../options.js";
import { EXIT, UserError } from "../exit-codes.js";
import { addTargetOption, asUserError, stateDirOf, targetOf, type TargetOptions } from "./apply.js";

interface LogsOptions extends TargetOptions {
  follow?: boolean;
  since?: number;
  output: "text" | "json";
  group?: number;
  count?: number;
}

/** `--since`: a duration back from now (`10m`, `1h30m`, Go syntax) or an ISO 8601 time. */
export function parseSince(v: string, now = Date.now()): number {
  if (/^\d{4}-\d{2}-\d{2}/.test(v)) {
    const t = Date.parse(v);
    if (Number.isNaN(t)) throw new InvalidArgumentError("not a valid ISO 8601 time");
    return t;
  }
  try {
    return now - Number(parseGoDuration(v) / 1_000_000n);
  } catch (e) {
    if (e instanceof DurationError) throw new InvalidArgumentError("a duration such as 10m or 2h, or an ISO 8601 time");
    throw e;
  }
}

function parseInteger(lo: number, hi: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < lo || n > hi) throw new InvalidArgumentError(`an integer from ${lo} to ${hi}`);
    return n;
  };
}

export const parseGroup = parseInteger(0, 65535);
export const parseCount = parseInteger(1, 1_000_000);

export function registerLogs(program: Command): void {
  const cmd = program.command("logs").description("show recent dropped packets as events (time, interface, addresses, port, deciding document)");
  addTargetOption(cmd)
    .option("--follow", "keep reading: print drops as they happen (reads the NFLOG group, or follows the daemon's journal)")
    .option("--since <when>", "only drops since a duration ago (10m, 2h) or an ISO 8601 time", (v) => parseSince(v))
    .option("--output <format>", "text, or json (one JSON object per line)", choice(["text", "json"] as const), "text")
    .option("--group <n>", "the NFLOG group (default: the one in the last applied IngressLogConfig)", parseGroup)
    .option("--count <n>", "stop after this many events (with --follow)", parseCount)
    .option("--state-dir <dir>", "where the last applied state and the drop journal are kept (default /var/lib/ingressfw/<netns or host>)")
    .addHelpText(
      "after",
      `
Drops are logged only with an IngressLogConfig document (drops: true) in the applied configuration:
its log rules send dropped packets, rate-limited, to an NFLOG group. 'logs --follow' reads that group
(with tcpdump) and records every event in <state dir>/drops.jsonl; 'logs' prints the recorded events.
When the daemon reads the group, 'logs --follow' follows its journal instead.

Exit codes: 0 ok, 1 failure (also: logging not on), 64 usage, 69 tcpdump or nft missing, 77 no permission.

Examples:
  ingressfw logs --since 1h
  ingressfw logs --netns lab-node1 --follow --output json`,
    )
    .action(async (opts: LogsOptions) => {
      const target = targetOf(opts);
      const dir = stateDirOf(opts, target);
      const journal = journalPath(dir);
      let state: AppliedState | null = null;
      try {
        state = readState(dir);
      } catch (e) {
        if (!(e instanceof StateError)) throw e;
        process.stderr.write(`ingressfw: warning: ${e.message}; documents are named by their log prefix only\n`);
      }
      let printed = 0;
      let finish: () => void = () => {};
      const print = (e: DropEvent) => {
        if (opts.count !== undefined && printed >= opts.count) return;
        process.stdout.write(opts.output === "json" ? JSON.stringify(e) + "\n" : dropEventText(e) + "\n");
        printed++;
        if (opts.count !== undefined && printed >= opts.count) finish();
      };
      const recorded = readEvents(journal, opts.since ?? 0);
      if (!opts.follow) {
        if (recorded === null) {
          process.stderr.write(`ingressfw: no drops recorded in ${journal}: drops are recorded while 'ingressfw logs --follow' or the daemon runs\n`);
          return;
        }
        recorded.forEach(print);
        return;
      }
      if (opts.since !== undefined) recorded?.forEach(print);
      if (opts.count !== undefined && printed >= opts.count) return;

      const group = opts.group ?? loggedGroup(state);
      if (group === null) {
        throw new UserError(
          `drop logging is not on in the last applied configuration of ${dir}: apply an IngressLogConfig document with 'drops: true', or give --group`,
          EXIT.FAILURE,
        );
      }
      const stopped = new Promise<void>((resolve) => (finish = resolve));
      const onSignal = () => finish();
      process.once("SIGINT", onSignal);
      process.once("SIGTERM", onSignal);
      try {
        let stop: () => void;
        try {
          const reader = await startCollector({
            target,
            group,
            state: () => state,
            onEvent: (e) => {
              appendEvent(journal, e);
              print(e);
            },
            onError: (e) => {
              process.stderr.write(`ingressfw: ${e.message}\n`);
              finish();
            },
          });
          stop = () => reader.stop();
          process.stderr.write(`ingressfw: reading NFLOG group ${group}; recording in ${journal}\n`);
          void reader.done.then(finish);
        } catch (e) {
          // The group is read by another process: follow the journal the daemon keeps, if there is one.
          if (!(e instanceof NflogBusyError) || recorded === null) throw e;
          stop = tailEvents(journal, print);
          process.stderr.write(`ingressfw: NFLOG group ${group} is read by another process; following ${journal}\n`);
        }
        await stopped;
        stop();
      } catch (e) {
        throw asUserError(e);
      } finally {
        process.removeListener("SIGINT", onSignal);
        process.removeListener("SIGTERM", onSignal);
      }
    });
}
