import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { otherBaseChains } from "./other-chains.js";

const chain = (family: string, table: string, name: string, base?: { hook: string; policy: string; prio?: number; type?: string }) => ({
  chain: { family, table, name, handle: 1, ...(base ? { type: base.type ?? "filter", hook: base.hook, prio: base.prio ?? 0, policy: base.policy } : {}) },
});
const rule = (family: string, table: string, chainName: string, expr: unknown[]) => ({ rule: { family, table, chain: chainName, handle: 2, expr } });

describe("other base chains on the ingress hooks (§6 not final)", () => {
  const listing = [
    { metainfo: { version: "1.0.6" } },
    chain("inet", "talos", "ingress", { hook: "input", policy: "drop" }),
    rule("inet", "talos", "ingress", [{ drop: null }]),
    chain("ip", "filter", "INPUT", { hook: "input", policy: "accept" }),
    rule("ip", "filter", "INPUT", [{ jump: { target: "sub" } }]),
    chain("ip", "filter", "sub"),
    rule("ip", "filter", "sub", [{ jump: { target: "deeper" } }]),
    chain("ip", "filter", "deeper"),
    rule("ip", "filter", "deeper", [{ jump: { target: "sub" } }]),
    rule("ip", "filter", "deeper", [{ match: { op: "==", left: { payload: { protocol: "tcp", field: "dport" } }, right: 9 } }, { reject: null }]),
    chain("ip", "nat", "PREROUTING", { hook: "prerouting", policy: "accept", prio: -100, type: "nat" }),
    rule("ip", "nat", "PREROUTING", [{ dnat: { addr: "10.0.0.1", port: 8080 } }]),
    chain("inet", "fw", "pre", { hook: "prerouting", policy: "drop", prio: -300 }),
    rule("inet", "fw", "pre", [{ vmap: { key: { meta: { key: "iifname" } }, data: { set: [["eth9", { drop: null }]] } } }]),
    chain("ip6", "other", "forward", { hook: "forward", policy: "drop" }),
    chain("bridge", "br", "input", { hook: "input", policy: "drop" }),
  ];

  it("lists the IP-family base chains on input/prerouting of other tables, with why they can drop", () => {
    assert.deepEqual(
      otherBaseChains(listing, { family: "inet", name: "talos" }).map((c) => [`${c.family} ${c.table} ${c.chain}`, c.hook, c.prio, c.dropReasons]),
      [
        ["ip filter INPUT", "input", 0, ["jumps to chain sub, which can drop"]],
        ["ip nat PREROUTING", "prerouting", -100, []],
        ["inet fw pre", "prerouting", -300, ["policy drop", "1 rule(s) drop, reject or queue"]],
      ],
    );
  });
});
