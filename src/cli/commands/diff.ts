import type { Command } from "commander";
import { readTable, rulesetView } from "../../kernel/apply.js";
import { describeTarget } from "../../kernel/exec.js";
import { unifiedDiff } from "../../kernel/line-diff.js";
import { viewLines } from "../../kernel/table-view.js";
import { EXIT } from "../exit-codes.js";
import { addCompileOptions, kernelCall, nodeAddressLine, prepareCandidate, targetOf, type CompileCliOptions } from "./apply.js";

export function registerDiff(program: Command): void {
  const cmd = program
    .command("diff")
    .description("show what apply would change in the live table, as a unified diff in nft text (exit 0 no change, 2 changes)")
    .argument("<input...>", "YAML files, directories or - for stdin");
  addCompileOptions(cmd)
    .addHelpText(
      "after",
      `
Rules compare by meaning, not spelling: 'tcp dport 10250' in the live listing equals the candidate's
'tcp dport { 10250 }'. Counters are ignored. Lines starting with - are in the live table only, + in
the candidate only. Nothing is changed. The candidate is compiled as apply would (layout port-map
unless --layout or --profile talos-1.7 says otherwise); sets and maps show one line per element.

Exit codes: 0 no change, 2 changes, 1 failure, 64 usage (also an unknown --netns), 65 invalid
configuration, 69 nft missing, 77 no permission.

Examples:
  ingressfw diff controlplane.yaml
  ingressfw diff --netns lab-node1 rules/ || echo "apply would change the table"`,
    )
    .action(async (inputs: string[], opts: CompileCliOptions) => {
      const target = targetOf(opts);
      const candidate = await prepareCandidate(target, inputs, opts);
      const rs = candidate.ruleset;
      const live = await kernelCall(() => readTable(target, rs.family, rs.table, { withText: true }));
      const where = describeTarget(target);
      const diff = unifiedDiff(
        viewLines(live?.view ?? null),
        viewLines(rulesetView(rs)),
        live ? `live: table ${rs.family} ${rs.table} in ${where}` : `live: no table ${rs.family} ${rs.table} in ${where}`,
        `candidate: ${inputs.join(" ")}`,
      );
      const nodeLine = nodeAddressLine(candidate, target);
      if (nodeLine) process.stderr.write(`${nodeLine}\n`);
      if (diff === "") {
        process.stderr.write(`no changes: table ${rs.family} ${rs.table} in ${where} already matches\n`);
        return;
      }
      process.stdout.write(diff);
      process.exitCode = EXIT.CHANGES;
    });
}
