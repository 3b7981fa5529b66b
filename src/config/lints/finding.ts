import type { SourcePos } from "../diagnostics.js";

/** A per-rule lint warning; lint.ts attaches severity and the rule's document id. */
export interface Finding {
  readonly code: string;
  readonly pos: SourcePos;
  readonly message: string;
}
