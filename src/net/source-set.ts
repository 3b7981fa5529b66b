// The per-family effective source set (§5.5): shared by compilation (truth table) and lints.
import { prefixRange, type Family, type Prefix } from "./address.js";
import { normalize, subtract, type IntervalSet } from "./interval.js";

/** (⋃ include) − (⋃ exclude) for one family, masked, merged and sorted (§5.5, §5.9). */
export function familySet(include: readonly Prefix[], exclude: readonly Prefix[], family: Family): IntervalSet {
  const ranges = (ps: readonly Prefix[]) => normalize(ps.filter((p) => p.family === family).map(prefixRange));
  return subtract(ranges(include), ranges(exclude));
}
