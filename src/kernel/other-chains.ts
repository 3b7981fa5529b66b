// Semantics §6 "not final": an `accept` in ingressfw's table does not stop base chains of other tables
// on the same hooks from dropping the packet. Find those chains and whether they can drop.
import type { InTable, ListedObject, RawChain, RawRule } from "./nft-listing.js";
import { chainsFromListing } from "./nft-listing.js";

/** Hooks ingressfw's chains use; only IP families see them for host ingress. */
export const INGRESS_HOOKS: readonly string[] = ["input", "prerouting"];
const IP_FAMILIES: readonly string[] = ["ip", "ip6", "inet"];

export interface OtherBaseChain {
  readonly family: string;
  readonly table: string;
  readonly chain: string;
  readonly type: string;
  readonly hook: string;
  readonly prio: number;
  readonly policy: string;
  /** Why the chain can drop packets ingressfw accepts; empty when it cannot. */
  readonly dropReasons: readonly string[];
}

/** Verdicts anywhere in a rule: drop/reject/queue statements and jump/goto targets (also inside verdict maps). */
function verdictsOf(node: unknown, out: { drops: boolean; targets: string[] }): void {
  if (Array.isArray(node)) {
    for (const n of node) verdictsOf(n, out);
    return;
  }
  if (typeof node !== "object" || node === null) return;
  for (const [k, v] of Object.entries(node)) {
    if (k === "drop" || k === "reject" || k === "queue") out.drops = true;
    else if ((k === "jump" || k === "goto") && typeof (v as { target?: unknown })?.target === "string") out.targets.push((v as { target: string }).target);
    verdictsOf(v, out);
  }
}

export function otherBaseChains(objects: readonly ListedObject[], ours: { family: string; name: string }): OtherBaseChain[] {
  const { chains, rules } = chainsFromListing(objects);
  const tableKey = (x: { family: string; table: string }) => `${x.family} ${x.table}`;
  const rulesOf = (c: InTable<RawChain>) => rules.filter((r: InTable<RawRule>) => tableKey(r) === tableKey(c) && r.chain === c.name);

  // Reasons a chain (base or not) can drop, following jumps within its table; cycles end the walk.
  const reasons = (c: InTable<RawChain>, seen: Set<string>): string[] => {
    const out: string[] = [];
    if (c.policy === "drop") out.push("policy drop");
    let dropRules = 0;
    const jumps: string[] = [];
    for (const r of rulesOf(c)) {
      const v = { drops: false, targets: [] as string[] };
      verdictsOf(r.expr, v);
      if (v.drops) dropRules++;
      for (const t of v.targets) {
        const key = `${tableKey(c)} ${t}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const target = chains.find((x) => tableKey(x) === tableKey(c) && x.name === t);
        if (target && reasons(target, seen).length > 0) jumps.push(`jumps to chain ${t}, which can drop`);
      }
    }
    if (dropRules > 0) out.push(`${dropRules} rule(s) drop, reject or queue`);
    out.push(...jumps);
    return out;
  };

  return chains
    .filter((c) => c.hook !== undefined && INGRESS_HOOKS.includes(c.hook) && IP_FAMILIES.includes(c.family))
    .filter((c) => !(c.family === ours.family && c.table === ours.name))
    .map((c) => ({
      family: c.family,
      table: c.table,
      chain: c.name,
      type: c.type ?? "filter",
      hook: c.hook!,
      prio: c.prio ?? 0,
      policy: c.policy ?? "accept",
      dropReasons: reasons(c, new Set([`${tableKey(c)} ${c.name}`])),
    }));
}
