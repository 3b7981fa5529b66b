// Ruleset → nftables JSON (libnftables schema) for `nft -j -f -`.
import type { Expr, KernelRule, Ruleset } from "./ruleset.js";
import { PROTOCOL_NFT_NAMES, addrElements } from "./elements.js";

type Json = unknown;

const match = (op: string, left: Json, right: Json) => ({ match: { op, left, right } });

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
        { payload: { protocol: e.family === 4 ? "ip" : "ip6", field: e.field } },
        {
          set: addrElements(e.family, e.set).map((x) =>
            x.kind === "single" ? x.addr : x.kind === "prefix" ? { prefix: { addr: x.addr, len: x.len } } : { range: [x.lo, x.hi] },
          ),
        },
      );
    case "dport":
      return match(
        "==",
        { payload: { protocol: "th", field: "dport" } },
        {
          set: e.set.map((iv) => (iv.lo === iv.hi ? Number(iv.lo) : { range: [Number(iv.lo), Number(iv.hi)] })),
        },
      );
    case "icmpType":
      return match("==", { payload: { protocol: "icmp", field: "type" } }, { set: [...e.types] });
    case "limit":
      return { limit: e.burst === null ? { rate: e.rate, per: "second" } : { rate: e.rate, per: "second", burst: e.burst } };
    case "counter":
      return { counter: null };
    case "verdict":
      return { [e.verdict]: null };
  }
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
  for (const c of rs.chains) {
    cmds.push({
      add: { chain: { family: rs.family, table: rs.table, name: c.name, type: "filter", hook: c.base.hook, prio: c.base.priority, policy: c.base.policy } },
    });
  }
  for (const c of rs.chains) {
    for (const r of c.rules) cmds.push({ add: { rule: { family: rs.family, table: rs.table, chain: c.name, expr: ruleExprJson(r) } } });
  }
  return { nftables: cmds };
}
