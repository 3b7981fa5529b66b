// ingressfw command line: parses arguments, runs one command, maps errors to documented exit codes.
import { Command, CommanderError } from "commander";
import { readFileSync } from "node:fs";
import { EXIT, UserError } from "./exit-codes.js";
import { registerCheck } from "./commands/check.js";
import { registerDemo } from "./commands/demo.js";
import { registerRender } from "./commands/render.js";
import { registerValidate } from "./commands/validate.js";
import { registerApply } from "./commands/apply.js";
import { registerStatus } from "./commands/status.js";
import { registerDiff } from "./commands/diff.js";
import { registerRemove } from "./commands/remove.js";
import { registerConfirm, registerGuard, registerRollback } from "./commands/try.js";
import { registerLogs } from "./commands/logs.js";
import { registerTrace } from "./commands/trace.js";
import { registerDaemon } from "./commands/daemon.js";

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

export function buildProgram(): Command {
  const program = new Command("ingressfw")
    .description("Talos Linux Ingress Firewall for any Linux host: validate, render, apply and prove nftables ingress policy")
    .version(version(), "-V, --version")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  // Offline commands first, then those that touch the kernel, then the lab.
  registerValidate(program);
  registerRender(program);
  registerCheck(program);
  registerApply(program);
  registerConfirm(program);
  registerRollback(program);
  registerDiff(program);
  registerStatus(program);
  registerRemove(program);
  registerLogs(program);
  registerTrace(program);
  registerDaemon(program);
  registerDemo(program);
  registerGuard(program);
  for (const cmd of program.commands) cmd.exitOverride().showHelpAfterError("(run with --help for usage)");
  program.addHelpText(
    "after",
    `
Exit codes: 0 ok, 1 failure, 2 diff found changes, 3 apply refused by the lock-out guard, 64 usage, 65 invalid config, 69 nft missing, 77 no permission.

Examples:
  ingressfw validate controlplane.yaml
  ingressfw render --profile talos-1.7 examples/learn-more/block.yaml
  ingressfw check examples/seed/controlplane.yaml --from 203.0.113.7 --proto tcp --port 10250
  sudo ingressfw apply --netns lab1 examples/seed/worker.yaml
  sudo ingressfw demo`,
  );
  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv as string[], { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : EXIT.OK;
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and version end with code 0 and have been printed already
      return e.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    if (e instanceof UserError) {
      if (e.message) process.stderr.write(`ingressfw: ${e.message}\n`);
      return e.exitCode;
    }
    const err = e as Error;
    process.stderr.write(`ingressfw: internal error: ${err.message}\n`);
    if (process.env.INGRESSFW_DEBUG) process.stderr.write(`${err.stack}\n`);
    return EXIT.FAILURE;
  }
}
