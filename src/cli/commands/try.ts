// `confirm` and `rollback` (try mode, semantics §7) and the hidden `guard` command a try spawns.
import type { Command } from "commander";
import { runGuardian } from "../../daemon/guardian.js";
import { confirmTry, rollbackNow } from "../../daemon/try.js";
import { describeTarget } from "../../kernel/exec.js";
import { EXIT, UserError } from "../exit-codes.js";
import { confirmMessage, rollbackText, settleTry } from "../safe-apply.js";
import { addSocketOption, daemonFor, type SocketOptions } from "../daemon-route.js";
import { addTargetOption, kernelCall, parseNetnsName, stateDirOf, targetOf, type TargetOptions } from "./apply.js";

const STATE_DIR_HELP = "where the state is kept (default /var/lib/ingressfw/<netns or host>)";

export function registerConfirm(program: Command): void {
  const cmd = program.command("confirm").description("keep the configuration applied with 'apply --mode try' (cancel its rollback)");
  addSocketOption(addTargetOption(cmd))
    .option("--state-dir <dir>", STATE_DIR_HELP)
    .addHelpText(
      "after",
      `
The tried configuration becomes the confirmed one: later tries roll back to it, and boot (the
daemon) applies it. Fails (exit 1) when no try is pending — it may have expired and been rolled back.

Exit codes: 0 confirmed, 1 no try pending or failure, 64 usage, 77 no permission.

Examples:
  ingressfw apply --mode try controlplane.yaml && ingressfw confirm
  ingressfw confirm --netns lab-node1`,
    )
    .action(async (opts: TargetOptions & SocketOptions) => {
      const target = targetOf(opts);
      const dir = stateDirOf(opts, target);
      // A daemon serving the target owns the try: the confirm goes through it.
      const daemon = await daemonFor(target, opts);
      if (!daemon) await kernelCall(() => settleTry(target, dir));
      const confirmed = daemon ? await daemon.confirm() : await kernelCall(() => confirmTry(target, dir));
      process.stdout.write(`${confirmMessage(target, confirmed)}\n`);
    });
}

export function registerRollback(program: Command): void {
  const cmd = program.command("rollback").description("revert a configuration applied with 'apply --mode try' now, to the last confirmed one");
  addSocketOption(addTargetOption(cmd))
    .option("--state-dir <dir>", STATE_DIR_HELP)
    .addHelpText(
      "after",
      `
Re-applies the last confirmed configuration (recompiled with the node addresses current now) and
removes tables only the try created; with nothing confirmed, removes the table. A failed rollback
stays pending and is retried by the guardian (or the daemon); 'ingressfw status' shows the error.

Exit codes: 0 rolled back, 1 no try pending or the rollback failed, 64 usage, 77 no permission.

Examples:
  ingressfw rollback
  ingressfw rollback --netns lab-node1`,
    )
    .action(async (opts: TargetOptions & SocketOptions) => {
      const target = targetOf(opts);
      const dir = stateDirOf(opts, target);
      // A daemon serving the target owns the try: the rollback goes through it (a failure is its to retry).
      const daemon = await daemonFor(target, opts);
      const outcome = daemon
        ? await daemon.rollback()
        : await kernelCall(() => rollbackNow(target, dir, { log: (line) => process.stderr.write(`ingressfw: ${line}\n`) }));
      if (outcome.kind === "failed") {
        // Still pending: make sure something retries it.
        await kernelCall(() => settleTry(target, dir));
        throw new UserError(`${describeTarget(target)}: ${rollbackText(outcome)}`, EXIT.FAILURE);
      }
      process.stdout.write(`${describeTarget(target)}: ${rollbackText(outcome)}\n`);
    });
}

interface GuardOptions {
  netns?: string;
  stateDir: string;
}

/** Hidden: the detached process that owns a try's rollback when no daemon runs (src/daemon/guardian.ts). */
export function registerGuard(program: Command): void {
  program
    .command("guard", { hidden: true })
    .description("wait for the pending try's deadline and roll it back (started by 'apply --mode try')")
    .option("--netns <name>", "the network namespace of the try", parseNetnsName)
    .requiredOption("--state-dir <dir>", "the state directory holding pending-try.json")
    .action(async (opts: GuardOptions) => {
      // No controlling terminal (new session); a stray hangup must not end the watch either.
      process.on("SIGHUP", () => {});
      const log = (line: string) => process.stdout.write(`${new Date().toISOString()} guard[${process.pid}]: ${line}\n`);
      await runGuardian(opts.netns ? { netns: opts.netns } : {}, opts.stateDir, { log });
    });
}
