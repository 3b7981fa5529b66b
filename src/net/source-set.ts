// The per-family effective source set (§5.5): shared by compilation (truth table) and lints.
import { prefixRange, type Family, type Prefix } from "./address.js";
import { normalize, subtract, type Interval, type IntervalSet } from "./interval.js";

/** The ranges of one family's prefixes, sorted and merged. */
function familyRanges(prefixes: readonly Prefix[], family: Family): IntervalSet {
  const ranges: Interval[] = [];
  for (const p of prefixes) if (p.family === family) ranges.push(prefixRange(p));
  return normalize(ranges);
}

/** (⋃ include) − (⋃ exclude) for one family, masked, merged and sorted (§5.5, §5.9). */
export function familySet(include: readonly Prefix[], exclude: readonly Prefix[], family: Family): IntervalSet {
  const excluded = familyRanges(exclude, family);
  const included = familyRanges(include, family);
  return excluded.length === 0 ? included : subtract(included, excluded);
}
