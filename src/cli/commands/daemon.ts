// `ingressfw daemon`: options, start-up checks, signals. The daemon itself is src/daemon/daemon.ts.
import { statSync } from "node:fs";
import { resolve } from "node:path";
import type { Command } from "commander";
import type { ProfileName } from "../../compile/profiles.js";
import { DEFAULT_TABLE, type LayoutName } from "../../compile/ruleset.js";
import { defaultSocketPath } from "../../daemon/client.js";
import { Daemon, DaemonStartError } from "../../daemon/daemon.js";
import { createLogger, LOG_FORMATS, type LogFormat } from "../../daemon/log.js";
import { hasNetAdmin } from "../../kernel/exec.js";
import { EXIT, UserError } from "../exit-codes.js";
import { APPLY_LAYOUT_HELP, applyLayout, choice, parseLayout, parseProfile, parseTableName } from "../options.js";
import { cliCommand } from "../safe-apply.js";
import { addTargetOption, kernelCall, stateDirOf, targetOf, type TargetOptions } from "./apply.js";

interface DaemonCliOptions extends TargetOptions {
  config: string;
  socket?: string;
  logFormat: LogFormat;
  profile: ProfileName;
  layout?: LayoutName;
  table: string;
}

function configDirOf(path: string): string {
  const dir = resolve(path);
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    // reported below
  }
  if (!isDir) throw new UserError(`--config ${path}: not a directory`, EXIT.USAGE);
  return dir;
}

export function registerDaemon(program: Command): void {
  const cmd = program
    .command("daemon")
    .description("keep the firewall applied: watch a configuration directory, re-render on address changes, repair drift, serve a local API");
  addTargetOption(cmd)
    .requiredOption("--config <dir>", "the configuration directory (*.yaml / *.yml, e.g. a Kubernetes ConfigMap volume)")
    .option("--socket <path>", "the API socket (default /run/ingressfw/<netns or host>.sock)")
    .option("--state-dir <dir>", "where the state is kept (default /var/lib/ingressfw/<netns or host>)")
    .option("--log-format <format>", "text (plain lines, journald-friendly) or json (one object per line)", choice(LOG_FORMATS), "text")
    .option("--profile <profile>", "talos (Talos v1.14) or talos-1.7 (the documented v1.7 output)", parseProfile, "talos")
    .option("--layout <layout>", APPLY_LAYOUT_HELP, parseLayout)
    .option("--table <name>", "table name (family inet)", parseTableName, DEFAULT_TABLE)
    .addHelpText(
      "after",
      `
On start the daemon applies the confirmed configuration (boot persistence) and finishes a pending
try (an overdue one is rolled back at once); then the configuration directory, when it changed
since the daemon last applied it. While it runs:
  - an edit of the directory is applied within a second (a plain apply: it becomes the confirmed
    configuration); an invalid edit is not applied — the running ruleset stays and the error is
    logged and shown by 'ingressfw status'. Editors' rename-replace and ConfigMap '..data' symlink
    swaps are safe; a directory without *.yaml files is refused, not applied as an empty firewall;
  - a change of the node addresses re-renders the prerouting chain;
  - a table changed or removed by someone else is re-applied (drift repair);
  - it owns the rollback of tries and serves the API on a root-only unix socket: 'ingressfw apply',
    'confirm', 'rollback' and 'status' for the same namespace go through it.
SIGTERM or SIGINT stops it without touching the ruleset; a pending try is handed to a guardian.
Logs go to stderr: plain lines with level and event (a syslog priority prefix under journald), or
JSON lines with --log-format json.

Exit codes: 0 stopped by a signal, 1 another daemon serves this target or a failure, 64 usage,
69 nft missing, 77 no permission.

Examples:
  ingressfw daemon --config /etc/ingressfw
  ingressfw daemon --config /etc/ingressfw --netns lab-node1 --log-format json`,
    )
    .action(async (opts: DaemonCliOptions) => {
      const target = targetOf(opts);
      const configDir = configDirOf(opts.config);
      if (!hasNetAdmin()) throw new UserError("the daemon needs CAP_NET_ADMIN: run it as root", EXIT.NO_PERMISSION);
      // Signals before start: one arriving during the boot apply stops the daemon right after it.
      let stopSignal: NodeJS.Signals | null = null;
      const stopped = new Promise<NodeJS.Signals>((resolveStop) => {
        for (const sig of ["SIGTERM", "SIGINT"] as const) {
          process.on(sig, () => {
            stopSignal ??= sig;
            resolveStop(sig);
          });
        }
      });
      const daemon = new Daemon({
        target,
        configDir,
        stateDir: resolve(stateDirOf(opts, target)),
        socketPath: resolve(opts.socket ?? defaultSocketPath(target)),
        ownSocketDir: opts.socket === undefined,
        config: { profile: opts.profile, layout: applyLayout(opts.profile, opts.layout), table: opts.table },
        log: createLogger(opts.logFormat),
        guardianCommand: cliCommand(),
      });
      try {
        await kernelCall(() => daemon.start());
      } catch (e) {
        if (e instanceof DaemonStartError) throw new UserError(e.message, EXIT.FAILURE);
        throw e;
      }
      const sig = stopSignal ?? (await stopped);
      await daemon.stop(`received ${sig}`);
    });
}
