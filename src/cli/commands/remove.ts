import { existsSync } from "node:fs";
import type { Command } from "commander";
import { removeTable } from "../../kernel/apply.js";
import { describeTarget } from "../../kernel/exec.js";
import { readState, removeState } from "../../kernel/state.js";
import { DEFAULT_TABLE } from "../../compile/ruleset.js";
import { forgetConfirmed } from "../../daemon/apply-config.js";
import { parseTableName } from "../options.js";
import { addTargetOption, kernelCall, stateDirOf, targetOf, type TargetOptions } from "./apply.js";

interface RemoveOptions extends TargetOptions {
  table?: string;
}

export function registerRemove(program: Command): void {
  const cmd = program.command("remove").description("delete ingressfw's table (and its saved state) from the host or a network namespace");
  addTargetOption(cmd)
    .option("--table <name>", `table name (family inet; default: the table of the last apply, else ${DEFAULT_TABLE})`, parseTableName)
    .option("--state-dir <dir>", "where the last applied state is kept (default /var/lib/ingressfw/<netns or host>)")
    .addHelpText(
      "after",
      `
Deletes only table inet <name>; other tables are never touched. An absent table is not an error.
The saved state and the confirmed configuration are removed too, and a pending try is cancelled,
so nothing re-applies the removed configuration.

Exit codes: 0 removed or absent, 1 failure, 64 usage (also an unknown --netns), 69 nft missing,
77 no permission.

Examples:
  ingressfw remove
  ingressfw remove --netns lab-node1`,
    )
    .action(async (opts: RemoveOptions) => {
      const target = targetOf(opts);
      const dir = stateDirOf(opts, target);
      const state = await kernelCall(() => {
        try {
          return readState(dir);
        } catch {
          return null; // an invalid state names no table; it is removed below anyway
        }
      });
      const table = opts.table ?? state?.ruleset.table ?? DEFAULT_TABLE;
      const ours = state === null || state.ruleset.table === table;
      // First, so that no rollback (guardian, daemon) or boot re-applies what is being removed.
      const forgotten = ours && existsSync(dir) ? await kernelCall(() => forgetConfirmed(dir)) : null;
      const removed = await kernelCall(() => removeTable(target, table));
      const where = describeTarget(target);
      process.stdout.write(removed ? `removed table inet ${table} from ${where}\n` : `table inet ${table} is not present in ${where}; nothing to remove\n`);
      if (ours) {
        if (await kernelCall(() => removeState(dir))) process.stdout.write(`removed state in ${dir}\n`);
      }
      if (forgotten?.removedConfirmed) process.stdout.write(`removed the confirmed configuration in ${dir}\n`);
      if (forgotten?.cancelledTry) process.stdout.write(`cancelled the pending try started at ${forgotten.cancelledTry.startedAt}\n`);
    });
}
