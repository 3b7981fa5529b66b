// `ingressfw demo [--keep | --clean]`: preflight checks, signal handling and exit codes around src/demo/run.ts.
import type { Command } from "commander";
import { constants } from "node:os";
import { KernelError, run } from "../../kernel/exec.js";
import { LabError, cleanLab } from "../../demo/lab.js";
import { LAB_PREFIX } from "../../demo/plan.js";
import { LabExistsError, runDemo } from "../../demo/run.js";
import { EXIT, UserError } from "../exit-codes.js";
import { useColor } from "../output.js";

interface DemoCliOptions {
  keep?: boolean;
  clean?: boolean;
}

/** Does `cmd` exist? (it is run with a harmless argument; only "not found" counts as missing) */
async function installed(cmd: string, arg: string): Promise<boolean> {
  try {
    await run(cmd, [arg], undefined, 5_000);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw e;
  }
}

async function preflight(needNft: boolean): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw new UserError("demo needs root: it creates network namespaces and loads nftables rules in them (try: sudo ./ingressfw demo)", EXIT.NO_PERMISSION);
  }
  if (!(await installed("ip", "-V"))) throw new UserError("ip not found: install iproute2 (Debian/Ubuntu: apt-get install iproute2)", EXIT.NFT_MISSING);
  if (needNft && !(await installed("nft", "--version"))) {
    throw new UserError("nft not found: install nftables (Debian/Ubuntu: apt-get install nftables)", EXIT.NFT_MISSING);
  }
}

/** Map what the demo can run into to the documented exit codes. */
function toUserError(e: unknown): unknown {
  if (e instanceof LabExistsError) return new UserError(e.message, EXIT.FAILURE);
  if (e instanceof LabError) return new UserError(`demo: ${e.message}`, e.noPermission ? EXIT.NO_PERMISSION : EXIT.FAILURE);
  if (e instanceof KernelError) {
    const code = e.kind === "nft-missing" ? EXIT.NFT_MISSING : e.kind === "no-permission" ? EXIT.NO_PERMISSION : EXIT.FAILURE;
    return new UserError(`demo: ${e.message}`, code);
  }
  return e;
}

async function clean(): Promise<void> {
  const r = await cleanLab();
  if (r.removed.length === 0) {
    process.stdout.write(`No demo lab found (no network namespace named ${LAB_PREFIX}*).\n`);
    return;
  }
  process.stdout.write(`Removed ${r.removed.join(", ")}; stopped ${r.stoppedAgents} demo agent(s).\n`);
  if (r.otherProcesses > 0) {
    process.stdout.write(`${r.otherProcesses} other process(es) were running in the lab (not started by the demo) and were left alone.\n`);
  }
}

/** Run the demo; SIGINT/SIGTERM/SIGHUP abort it, and it removes the lab before the process exits. */
async function demo(keep: boolean): Promise<void> {
  const icmp = await installed("ping", "-V");
  const controller = new AbortController();
  let interrupted: NodeJS.Signals | null = null;
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted) return void process.stderr.write(`ingressfw demo: ${sig}: still removing the lab …\n`);
    interrupted = sig;
    controller.abort(new Error(`interrupted by ${sig}`)); // runDemo says so on its progress lines
  };
  const signals: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
  for (const s of signals) process.on(s, onSignal);
  try {
    const result = await runDemo({
      keep,
      icmp,
      color: useColor(process.stdout),
      errColor: useColor(process.stderr),
      out: process.stdout,
      err: process.stderr,
      signal: controller.signal,
    });
    if (result.mismatches > 0) process.exitCode = EXIT.FAILURE;
  } catch (e) {
    // The conventional 128 + signal number, once the lab is gone.
    if (interrupted) throw new UserError("", 128 + constants.signals[interrupted]);
    throw toUserError(e);
  } finally {
    for (const s of signals) process.off(s, onSignal);
  }
}

export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description("build a throwaway namespace lab, apply the seed's examples and prove them with real traffic")
    .option("--keep", "leave the lab up for exploring (remove it later with --clean)")
    .option("--clean", "remove a lab left by --keep or by an interrupted run")
    .addHelpText(
      "after",
      `
Needs root, nft (nftables), ip (iproute2); ping (iputils-ping) for the ICMP column.
The lab: network namespaces ${LAB_PREFIX}cp1..cp3 (controlplane example), ${LAB_PREFIX}worker (worker example),
${LAB_PREFIX}external (a client outside the cluster) and ${LAB_PREFIX}switch (the bridge). Traffic stays inside
them; the host's own network and ruleset are not touched. Ctrl-C removes the lab.
Exit status: 0 every cell as the seed promises, 1 a mismatch or a failure.

Examples:
  ingressfw demo
  ingressfw demo --keep && ip netns exec ${LAB_PREFIX}cp1 nft list ruleset
  ingressfw demo --clean`,
    )
    .action(async (opts: DemoCliOptions) => {
      if (opts.keep && opts.clean) throw new UserError("--keep and --clean exclude each other", EXIT.USAGE);
      await preflight(!opts.clean);
      await (opts.clean ? clean() : demo(Boolean(opts.keep)));
    });
}
