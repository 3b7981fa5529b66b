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

export function collectAddress(v: string, prev: Address[] = []): Address[] {
  const a = parseAddress(v.replace(/\/(32|128)$/, ""));
  if (!a) throw new InvalidArgumentError(`not an IP address: ${JSON.stringify(v)}`);
  return [...prev, a];
}

export function parseTableName(v: string): string {
  if (!/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/.test(v)) throw new InvalidArgumentError("a table name starts with a letter and has letters, digits, _ . - only");
  return v;
}
