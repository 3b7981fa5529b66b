// Lints W001–W018 (§9): warnings and notes that never change compilation.
import type { Diagnostic } from "./diagnostics.js";
import type { FirewallConfig, ProfileName } from "./model.js";

export interface LintOptions {
  readonly profile: ProfileName;
  /** Also report informational notes (ignored kinds). */
  readonly verbose: boolean;
}

export function lintConfig(_cfg: FirewallConfig, _opts: LintOptions): Diagnostic[] {
  return [];
}
