// Option parsers shared by commands; each rejects bad values with a usage error (exit 64).
import { InvalidArgumentError } from "commander";
import { parseAddress, type Address } from "../net/address.js";
import { PROFILE_NAMES, type ProfileName } from "../compile/profiles.js";
import { LAYOUT_NAMES, type LayoutName } from "../compile/ruleset.js";

export function choice<T extends string>(values: readonly T[]) {
  return (v: string): T => {
    if ((values as readonly string[]).includes(v)) return v as T;
    throw new InvalidArgumentError(`expected one of: ${values.join(", ")}`);
  };
}

export const parseProfile = choice<ProfileName>(PROFILE_NAMES);
export const parseLayout = choice<LayoutName>(LAYOUT_NAMES);

/**
 * The layout `apply` and `diff` use without --layout: port-map (per-packet cost independent of the number
 * of rules, proven equivalent to per-rule), except under talos-1.7, whose purpose is to reproduce the
 * Talos v1.7 ruleset exactly. `render` keeps per-rule, the listing Talos prints.
 */
export function applyLayout(profile: ProfileName, given: LayoutName | undefined): LayoutName {
  return given ?? (profile === "talos-1.7" ? "per-rule" : "port-map");
}

export const APPLY_LAYOUT_HELP =
  "kernel layout: port-map (per-protocol port maps, default) or per-rule (one rule per document, as Talos builds it; default with --profile talos-1.7)";

export function collectAddress(v: string, prev: Address[] = []): Address[] {
  const a = parseAddress(v.replace(/\/(32|128)$/, ""));
  if (!a) throw new InvalidArgumentError(`not an IP address: ${JSON.stringify(v)}`);
  return [...prev, a];
}

export function parseTableName(v: string): string {
  if (!/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/.test(v)) throw new InvalidArgumentError("a table name starts with a letter and has letters, digits, _ . - only");
  return v;
}
