import type { Command } from "commander";
import type { ProfileName } from "../../config/model.js";
import { EXIT } from "../exit-codes.js";
import { checkInput, loadInput } from "../load-input.js";
import { choice, parseProfile } from "../options.js";

interface ValidateOptions {
  strict?: boolean;
  output: "text" | "json";
  profile: ProfileName;
  verbose?: boolean;
}

export function registerValidate(program: Command): void {
  program
    .command("validate")
    .description("check firewall documents with Talos's validation plus lints (exit 0 valid, 65 invalid)")
    .argument("<input...>", "YAML files, directories (*.yaml, *.yml in lexical order) or - for stdin")
    .option("--strict", "treat warnings as errors")
    .option("--output <format>", "text or json", choice(["text", "json"] as const), "text")
    .option("--profile <profile>", "profile assumed by profile-specific lints: talos | talos-1.7", parseProfile, "talos")
    .option("-v, --verbose", "also print notes (ignored documents)")
    .addHelpText(
      "after",
      `
Examples:
  ingressfw validate controlplane.yaml
  ingressfw validate --strict configs/
  cat rules.yaml | ingressfw validate -
  ingressfw validate --output json rules.yaml`,
    )
    .action((inputs: string[], opts: ValidateOptions) => {
      if (opts.output === "text") {
        const r = loadInput(inputs, opts);
        const rules = r.config.rules.length;
        process.stderr.write(`valid: ${rules} rule document(s), default action ${r.config.defaultAction?.action ?? "accept"}\n`);
        return;
      }
      const r = checkInput(inputs, opts);
      process.stdout.write(JSON.stringify({ valid: r.valid, diagnostics: r.diagnostics }, null, 2) + "\n");
      if (!r.valid) process.exitCode = EXIT.BAD_CONFIG;
    });
}
