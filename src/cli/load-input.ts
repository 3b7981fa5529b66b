// Shared by every command that reads configuration: inputs → model + diagnostics.
import type { Diagnostic } from "../config/diagnostics.js";
import { InputError, readSources, type SourceText } from "../config/input.js";
import type { FirewallConfig, ProfileName } from "../config/model.js";
import { checkSources } from "../daemon/apply-config.js";
import { EXIT, UserError } from "./exit-codes.js";
import { printDiagnostics } from "./output.js";

export interface CheckedInput {
  readonly config: FirewallConfig;
  readonly diagnostics: readonly Diagnostic[];
  /** No errors, and no warnings under --strict. */
  readonly valid: boolean;
  /** The texts read, in order (apply persists them). */
  readonly sources: readonly SourceText[];
}

export interface InputOptions {
  readonly profile: ProfileName;
  readonly strict?: boolean;
  readonly verbose?: boolean;
}

/** Read, decode, validate and lint. Unreadable inputs are usage errors (64); bad content is reported, not thrown. */
export function checkInput(inputs: readonly string[], opts: InputOptions): CheckedInput {
  if (inputs.length === 0) throw new UserError("no input given (a file, a directory or - for standard input)", EXIT.USAGE);
  let sources;
  try {
    sources = readSources(inputs);
  } catch (e) {
    if (e instanceof InputError) throw new UserError(e.message, EXIT.USAGE);
    throw e;
  }
  return checkSources(sources, opts);
}

/** checkInput, diagnostics printed to stderr; an invalid input ends the command with exit 65. */
export function loadInput(inputs: readonly string[], opts: InputOptions): CheckedInput {
  const checked = checkInput(inputs, opts);
  printDiagnostics(checked.diagnostics);
  if (!checked.valid) {
    const errors = checked.diagnostics.filter((d) => d.severity === "error").length;
    throw new UserError(errors > 0 ? `invalid configuration: ${errors} error(s)` : "warnings are treated as errors (--strict)", EXIT.BAD_CONFIG);
  }
  return checked;
}
