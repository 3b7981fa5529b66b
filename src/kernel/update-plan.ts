// An in-place update of ingressfw's table, from the table the kernel holds to the one a new ruleset
// builds, as one transaction that touches only what differs (issue 6, "incremental update"): set and
// map elements are deleted and added one by one, a chain whose rules differ is flushed and refilled,
// chains and sets that appear or disappear are added or deleted. Chains that do not change keep their
// rules and so their counters. Anything else — table flags, a base chain's hook, priority or policy, a
// set's type, named limits — is a structural change: no plan, the caller rebuilds the table.
import { jsonEqual, setElements, setHeader, stableJson, type SetElement } from "./canonical.js";
import { rulesByChain, type RawChain, type RawObject, type RawTable } from "./nft-listing.js";
import type { TableView } from "./table-view.js";

type Json = unknown;

export interface SetRef {
  readonly kind: "set" | "map";
  readonly name: string;
}

export interface UpdatePlan {
  readonly commands: readonly Json[];
  /** Chains it fills anew (changed or added) and chains it deletes. */
  readonly chains: readonly string[];
  readonly removedChains: readonly string[];
  /** Sets and maps it creates or changes, and those it deletes. */
  readonly objects: readonly SetRef[];
  readonly removedObjects: readonly SetRef[];
}

const isSetKind = (kind: string): kind is "set" | "map" => kind === "set" || kind === "map";

/** A table and, per chain, what its rules are compared by: canonical keys, or the rules' JSON as written. */
export interface PlanSide {
  readonly raw: RawTable;
  readonly ruleKeys: ReadonlyMap<string, readonly Json[]>;
}

/** Rules compared by their canonical form: for a side that is a kernel listing. */
export function viewSide(raw: RawTable, view: TableView): PlanSide {
  return { raw, ruleKeys: new Map(view.chains.map((c) => [c.name, c.rules.map((r) => r.key)])) };
}

/** Rules compared as written: for two sides both rendered by ingressfw (same spelling), much cheaper. */
export function writtenSide(raw: RawTable): PlanSide {
  return { raw, ruleKeys: new Map([...rulesByChain(raw.rules)].map(([chain, rules]) => [chain, rules.map((r) => r.expr)])) };
}

const chainProps = (c: RawChain) => (c.hook === undefined ? "regular" : `${c.type} ${c.hook} ${c.prio} ${c.policy ?? "accept"}`);
const objectId = (o: RawObject) => `${o.kind} ${o.name}`;
const sameKeys = (a: readonly Json[] = [], b: readonly Json[] = []) => a.length === b.length && a.every((k, i) => jsonEqual(k, b[i]));

/** The plan, or null when the change is structural (see the header) or not understood. */
export function planUpdate(live: PlanSide, next: PlanSide): UpdatePlan | null {
  const { family, name: table } = next.raw;
  if (live.raw.family !== family || live.raw.name !== table || stableJson(live.raw.flags) !== stableJson(next.raw.flags)) return null;
  const ref = (kind: string, body: Record<string, Json>) => ({ [kind]: { family, table, ...body } });

  // Chains: same properties (a base chain's hook, priority, policy) or no plan; base chains never come or go.
  const liveChains = new Map(live.raw.chains.map((c) => [c.name, c]));
  const nextChains = new Map(next.raw.chains.map((c) => [c.name, c]));
  const addedChains = next.raw.chains.filter((c) => !liveChains.has(c.name)).map((c) => c.name);
  const removedChains = live.raw.chains.filter((c) => !nextChains.has(c.name)).map((c) => c.name);
  if ([...addedChains, ...removedChains].some((n) => (liveChains.get(n) ?? nextChains.get(n))!.hook !== undefined)) return null;
  const changedChains: string[] = [];
  for (const c of next.raw.chains) {
    const before = liveChains.get(c.name);
    if (!before) continue;
    if (chainProps(before) !== chainProps(c)) return null;
    if (!sameKeys(live.ruleKeys.get(c.name), next.ruleKeys.get(c.name))) changedChains.push(c.name);
  }

  // Objects: named limits and the like must be equal; sets and maps are compared element by element.
  const liveObjects = new Map(live.raw.objects.map((o) => [objectId(o), o]));
  const nextObjects = new Map(next.raw.objects.map((o) => [objectId(o), o]));
  for (const [id, o] of [...liveObjects, ...nextObjects]) {
    if (isSetKind(o.kind)) continue;
    const a = liveObjects.get(id);
    const b = nextObjects.get(id);
    if (!a || !b || stableJson(a.json) !== stableJson(b.json)) return null;
  }
  const addedObjects = next.raw.objects.filter((o) => isSetKind(o.kind) && !liveObjects.has(objectId(o)));
  const removedObjects = live.raw.objects.filter((o) => isSetKind(o.kind) && !nextObjects.has(objectId(o)));
  const deletions: Json[] = [];
  const additions: Json[] = [];
  const changedObjects: RawObject[] = [];
  for (const o of next.raw.objects) {
    const before = liveObjects.get(objectId(o));
    if (!isSetKind(o.kind) || !before) continue;
    const header = setHeader(o.kind, o.json);
    if (header === null || setHeader(o.kind, before.json) !== header) return null;
    const elem = (j: Json) => (j as { elem?: Json }).elem ?? [];
    if (jsonEqual(elem(before.json), elem(o.json))) continue; // written alike: the same elements
    const was = setElements(o.kind, before.json);
    const now = setElements(o.kind, o.json);
    if (!was || !now) return null;
    const wasIds = new Set(was.map((e) => e.id));
    const nowIds = new Set(now.map((e) => e.id));
    const gone: SetElement[] = was.filter((e) => !nowIds.has(e.id));
    const fresh: SetElement[] = now.filter((e) => !wasIds.has(e.id));
    if (gone.length) deletions.push({ delete: ref("element", { name: o.name, elem: gone.map((e) => e.key) }) });
    if (fresh.length) additions.push({ add: ref("element", { name: o.name, elem: fresh.map((e) => e.json) }) });
    if (gone.length || fresh.length) changedObjects.push(o);
  }

  // Order: what new rules and elements refer to exists before them; what goes away is unreferenced first
  // (old elements deleted, old rules flushed) and deleted last. Deletions come before additions so a
  // changed interval never overlaps its old self.
  const nextRules = rulesByChain(next.raw.rules);
  const refilled = [...changedChains, ...addedChains];
  const commands: Json[] = [
    ...addedChains.map((name) => ({ add: ref("chain", { name }) })),
    ...addedObjects.map((o) => ({ add: { [o.kind]: o.json } })),
    ...deletions,
    ...additions,
    ...[...changedChains, ...removedChains].map((name) => ({ flush: ref("chain", { name }) })),
    ...refilled.flatMap((name) => (nextRules.get(name) ?? []).map((r) => ({ add: ref("rule", { chain: name, expr: r.expr }) }))),
    ...removedObjects.map((o) => ({ delete: ref(o.kind, { name: o.name }) })),
    ...removedChains.map((name) => ({ delete: ref("chain", { name }) })),
  ];
  const setRef = (o: RawObject): SetRef => ({ kind: o.kind as SetRef["kind"], name: o.name });
  return {
    commands,
    chains: refilled,
    removedChains,
    objects: [...addedObjects, ...changedObjects].map(setRef),
    removedObjects: removedObjects.map(setRef),
  };
}
