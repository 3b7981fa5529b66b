// Ruleset → nftables JSON (libnftables schema) for `nft -j -f -`.
import type { Expr, KernelRule, Ruleset, VerdictMap } from "./ruleset.js";
import { PROTOCOL_NFT_NAMES, addrElement, addrElements, type AddrElement } from "./elements.js";
import type { Family } from "../net/address.js";

type Json = unknown;

const match = (op: string, left: Json, right: Json) => ({ match: { op, left, right } });
const addrJson = (x: AddrElement): Json =>
  x.kind === "single" ? x.addr : x.kind === "prefix" ? { prefix: { addr: x.addr, len: x.len } } : { range: [x.lo, x.hi] };
const portJson = (lo: bigint, hi: bigint): Json => (lo === hi ? Number(lo) : { range: [Number(lo), Number(hi)] });
const addrPayload = (family: Family, field: string) => ({ payload: { protocol: family === 4 ? "ip" : "ip6", field } });

function exprJson(e: Expr): Json {
  switch (e.type) {
    case "iifname":
      return match(e.op, { meta: { key: "iifname" } }, e.names.length === 1 ? e.names[0] : { set: [...e.names] });
    case "ctState":
      // One state is a bitmask test, several a set lookup (§5.7).
      return e.states.length === 1 ? match("in", { ct: { key: "state" } }, e.states[0]) : match("==", { ct: { key: "state" } }, { set: [...e.states] });
    case "l4proto":
      return match("==", { meta: { key: "l4proto" } }, PROTOCOL_NFT_NAMES[e.protocol] ?? e.protocol);
    case "nfproto":
      return match("==", { meta: { key: "nfproto" } }, `ipv${e.family}`);
    case "addr":
      return match(
        e.op,
        addrPayload(e.family, e.field),
        e.bare ? addrJson(addrElement(e.family, e.set[0]!)) : { set: addrElements(e.family, e.set).map(addrJson) },
      );
    case "dport":
      return match("==", { payload: { protocol: "th", field: "dport" } }, { set: e.set.map((iv) => portJson(iv.lo, iv.hi)) });
    case "icmpType":
      return match("==", { payload: { protocol: "icmp", field: "type" } }, { set: [...e.types] });
    case "limit":
      return { limit: e.burst === null ? { rate: e.rate, per: "second" } : { rate: e.rate, per: "second", burst: e.burst } };
    case "counter":
      return { counter: null };
    case "limitRef":
      return { limit: e.name };
    case "log":
      return { log: { prefix: e.prefix, group: e.group } };
    case "verdict":
      return { [e.verdict]: null };
    case "setLookup":
      return match("==", addrPayload(e.family, e.field), `@${e.set}`);
    case "vmap":
      return {
        vmap: { key: e.key.field === "dport" ? { payload: { protocol: "th", field: "dport" } } : addrPayload(e.key.family, "saddr"), data: `@${e.map}` },
      };
    case "jump":
      return { jump: { target: e.chain } };
    case "return":
      return { return: null };
  }
}

function mapElementsJson(m: VerdictMap): Json[] {
  const key = (lo: bigint, hi: bigint) => (m.type === "inet_service" ? portJson(lo, hi) : addrJson(addrElement(m.type === "ipv4_addr" ? 4 : 6, { lo, hi })));
  return m.elements.map((e) => [key(e.lo, e.hi), { jump: { target: e.jump } }]);
}

export function ruleExprJson(rule: KernelRule): Json[] {
  return rule.exprs.map(exprJson);
}

/**
 * The apply transaction: create the table if missing, delete it with everything in it, and build it
 * anew — one atomic batch that touches no other table (§6).
 */
export function renderJson(rs: Ruleset): { nftables: Json[] } {
  const table = { family: rs.family, name: rs.table };
  const cmds: Json[] = [{ add: { table } }, { delete: { table } }, { add: { table } }];
  for (const l of rs.limits ?? []) {
    cmds.push({ add: { limit: { family: rs.family, table: rs.table, name: l.name, rate: l.rate, per: l.per, burst: l.burst } } });
  }
  for (const c of rs.chains) {
    cmds.push({
      add: { chain: { family: rs.family, table: rs.table, name: c.name, type: "filter", hook: c.base.hook, prio: c.base.priority, policy: c.base.policy } },
    });
  }
  // Regular chains before the maps whose elements jump to them; sets and maps before the rules using them.
  const own = { family: rs.family, table: rs.table };
  for (const c of rs.regularChains ?? []) cmds.push({ add: { chain: { ...own, name: c.name } } });
  for (const s of rs.sets ?? []) {
    const family = s.type === "ipv4_addr" ? 4 : 6;
    cmds.push({ add: { set: { ...own, name: s.name, type: s.type, flags: ["interval"], elem: addrElements(family, s.elements).map(addrJson) } } });
  }
  for (const m of rs.maps ?? [])
    cmds.push({ add: { map: { ...own, name: m.name, type: m.type, map: "verdict", flags: ["interval"], elem: mapElementsJson(m) } } });
  for (const c of [...rs.chains, ...(rs.regularChains ?? [])]) {
    for (const r of c.rules) cmds.push({ add: { rule: { family: rs.family, table: rs.table, chain: c.name, expr: ruleExprJson(r) } } });
  }
  return { nftables: cmds };
}
