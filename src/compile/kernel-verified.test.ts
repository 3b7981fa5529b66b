// The spec's "(unverified: confirm against the kernel)" points about compiled rulesets, observed in
// throwaway namespaces (docs/verified.md lists each with its answer), and the nft 1.0.6 listing
// quirks the gold comparisons rely on.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { parsePrefix } from "../net/address.js";
import { listTable, loadRuleset, netlinkRules, nftFromFile } from "../../test/support/listing.js";
import { createNetns, inNetns, kernelSkipReason } from "../../test/support/netns.js";
import { priorityText } from "./elements.js";
import type { IrRule, Origin } from "./ir.js";
import { layoutPerRule } from "./layouts/per-rule.js";
import { renderJson } from "./nft-json.js";
import { renderText } from "./nft-text.js";
import type { Ruleset } from "./ruleset.js";

const skip = kernelSkipReason();
// Module level: netns.ts deletes its namespaces in an `after` hook registered on first use.
const ns = skip ? "" : createNetns("gldv");
const origin: Origin = { kind: "builtin", id: "pod-service" };
const rule = (parts: Partial<IrRule>): IrRule => ({ counter: false, verdict: "accept", origin, ...parts });
const TABLE = "verify";
const p = parsePrefix;

function rulesetOf(rules: readonly IrRule[], priority = 0, hook: "input" | "prerouting" = "input"): Ruleset {
  return layoutPerRule({ chains: [{ name: "c", hook, priority, policy: "accept", rules }] }, TABLE, "talos");
}
const json = (rs: Ruleset) => JSON.stringify(renderJson(rs));
/** Load the JSON transaction (it replaces the table) and return nft's netlink debug output. */
const netlinkOfJson = (rs: Ruleset) => nftFromFile(ns, ["--debug=netlink", "-j"], json(rs));
/** Load a text ruleset in place of the table: `nft -f` alone would add to an existing table. */
const replaceWithText = (text: string, args: readonly string[] = []) => nftFromFile(ns, args, `table inet ${TABLE}\ndelete table inet ${TABLE}\n${text}`);
/** Rule lines of the live table, as nft prints them (counters, order and all). */
const listedRules = () =>
  listTable(ns, TABLE)
    .split("\n")
    .slice(3, -3)
    .map((l) => l.trim());

describe("unverified points, in the kernel (kernel 6.18, nft 1.0.6)", { skip }, () => {
  test("§2.1/§5.10 chain priorities: -110 lists as `dstnat - 10`, -140 as `mangle + 10` (and priorityText agrees)", () => {
    for (const [priority, hook, printed] of [
      [-110, "prerouting", "dstnat - 10"],
      [-140, "input", "mangle + 10"],
      [0, "input", "filter"],
      [50, "input", "security"],
    ] as const) {
      loadRuleset(ns, json(rulesetOf([], priority, hook)), "json");
      assert.match(listTable(ns, TABLE), new RegExp(`type filter hook ${hook} priority ${printed.replace("+", "\\+")}; policy accept;`));
      assert.equal(priorityText(priority), printed);
      const chains = JSON.parse(inNetns(ns, "nft", ["-j", "list", "chains"])).nftables as { chain?: { table: string; prio: number } }[];
      const prio = chains.find((o) => o.chain?.table === TABLE)?.chain?.prio;
      assert.equal(prio, priority);
    }
  });

  test("P6 talos-1.7: no burst emitted (text or JSON) → the kernel holds burst 5", () => {
    const rs = rulesetOf([rule({ l4: { protocol: 1 }, limit: { rate: 5, burst: null } })]);
    assert.doesNotMatch(renderText(rs), /burst/);
    assert.doesNotMatch(json(rs), /burst/);
    for (const format of ["json", "text"] as const) {
      if (format === "json") loadRuleset(ns, json(rs), "json");
      else replaceWithText(renderText(rs));
      const dumped = inNetns(ns, "nft", ["--debug=netlink", "list", "table", "inet", TABLE]);
      assert.match(dumped, /\[ limit rate 5\/second burst 5 type packets flags 0x0 \]/, format);
      const limits = JSON.parse(inNetns(ns, "nft", ["-j", "list", "table", "inet", TABLE])).nftables.flatMap(
        (o: { rule?: { expr: Record<string, unknown>[] } }) => o.rule?.expr.filter((e) => "limit" in e) ?? [],
      );
      assert.deepEqual(limits, [{ limit: { rate: 5, burst: 5, per: "second" } }], format);
      assert.deepEqual(listedRules(), ["meta l4proto icmp limit rate 5/second accept"], `${format}: nft omits the default burst`);
    }
  });

  const python = (() => {
    try {
      execFileSync("python3", ["-c", "import socket; socket.AF_NETLINK"], { stdio: "ignore" });
      return false;
    } catch {
      return "python3 with AF_NETLINK is not available";
    }
  })();
  test("P6 as Talos sends it (raw netlink, burst 0 or no burst attribute) → the kernel holds burst 5", { skip: python }, () => {
    const probe = fileURLToPath(new URL("../../test/gold/netlink-limit-probe.py", import.meta.url));
    for (const [table, burst, held] of [
      ["bzero", "0", 5],
      ["babsent", "absent", 5],
      ["bseven", "7", 7], // control: a burst that is sent is kept
    ] as const) {
      inNetns(ns, "python3", [probe, table, burst]);
      const dumped = inNetns(ns, "nft", ["--debug=netlink", "list", "table", "inet", table]);
      assert.match(dumped, new RegExp(`\\[ limit rate 5/second burst ${held} type packets flags 0x0 \\]`), `burst ${burst}`);
      inNetns(ns, "nft", ["delete", "table", "inet", table]);
    }
  });

  test("§5.13 `meta l4proto tcp` + `th dport` (the JSON transaction) gives the expressions of `tcp dport`", () => {
    const rs = rulesetOf([
      rule({
        l4: {
          protocol: 6,
          dports: [
            { lo: 80, hi: 80 },
            { lo: 443, hi: 443 },
          ],
        },
        counter: true,
      }),
    ]);
    const fromJson = netlinkRules(netlinkOfJson(rs));
    replaceWithText(`table inet ${TABLE} {\n  chain c {\n  }\n}\n`);
    const fromTcpDport = netlinkRules(
      inNetns(ns, "nft", ["--debug=netlink", "add", "rule", "inet", TABLE, "c", "tcp", "dport", "{ 80, 443 }", "counter", "accept"]),
    );
    assert.deepEqual(fromJson, fromTcpDport);
    assert.deepEqual(fromJson, [
      [
        "meta load l4proto => reg 1",
        "cmp eq reg 1 0x00000006",
        "payload load 2b @ transport header + 2 => reg 1",
        "lookup reg 1 set __set%d",
        "counter pkts 0 bytes 0",
        "immediate reg 0 accept",
      ],
    ]);
  });

  test("§5.13 `meta nfproto ipv4` + `ip saddr`: one nfproto test, in Talos's order (l4proto first); nft's own text puts l4proto after the address", () => {
    const r = rule({
      src: { include: [p("10.0.0.0/8"), p("192.168.0.0/16")], exclude: [], invert: false },
      l4: {
        protocol: 6,
        dports: [
          { lo: 22, hi: 23 },
          { lo: 80, hi: 80 },
        ],
      },
    });
    const rs = rulesetOf([r]);
    const fromJson = netlinkRules(netlinkOfJson(rs))[0]!;
    assert.deepEqual(fromJson, [
      "meta load l4proto => reg 1",
      "cmp eq reg 1 0x00000006",
      "meta load nfproto => reg 1",
      "cmp eq reg 1 0x00000002",
      "payload load 4b @ network header + 12 => reg 1",
      "lookup reg 1 set __set%d",
      "payload load 2b @ transport header + 2 => reg 1",
      "lookup reg 1 set __set%d",
      "immediate reg 0 accept",
    ]);
    const jsonListing = listedRules();
    const fromText = netlinkRules(replaceWithText(renderText(rs), ["--debug=netlink"]))[0]!;
    assert.deepEqual([...fromText].sort(), [...fromJson].sort(), "the same expressions");
    assert.deepEqual(fromText.slice(0, 4), [
      "meta load nfproto => reg 1",
      "cmp eq reg 1 0x00000002",
      "payload load 4b @ network header + 12 => reg 1",
      "lookup reg 1 set __set%d",
    ]);
    assert.deepEqual(listedRules(), jsonListing, "and the same listing");
    assert.deepEqual(jsonListing, ["ip saddr { 10.0.0.0/8, 192.168.0.0/16 } tcp dport { 22-23, 80 } accept"]);
  });

  test("§5.12/§5.13 ICMP 'ports': l4proto 1 + transport +2/2 as Talos builds it; nft lists it as `icmp checksum`", () => {
    const rs = rulesetOf([
      rule({
        l4: {
          protocol: 1,
          dports: [
            { lo: 80, hi: 80 },
            { lo: 90, hi: 90 },
          ],
        },
        verdict: "drop",
      }),
    ]);
    assert.deepEqual(netlinkRules(netlinkOfJson(rs)), [
      [
        "meta load l4proto => reg 1",
        "cmp eq reg 1 0x00000001",
        "payload load 2b @ transport header + 2 => reg 1",
        "lookup reg 1 set __set%d",
        "immediate reg 0 drop",
      ],
    ]);
    assert.deepEqual(listedRules(), ["icmp checksum { 80, 90 } drop"]);
    assert.match(renderText(rs), /meta l4proto icmp th dport \{ 80, 90 \} drop/, "renderText keeps the loadable spelling");
    loadRuleset(ns, json(rulesetOf([rule({ l4: { protocol: 58, dports: [{ lo: 80, hi: 80 }] }, verdict: "drop" })])), "json");
    assert.deepEqual(listedRules(), ["icmpv6 checksum 80 drop"]);
  });

  test("§5.12 protocol 0: `meta l4proto 0` is in the kernel (after the port test, see below), and nft lists it", () => {
    const rs = rulesetOf([rule({ l4: { protocol: 0, dports: [{ lo: 80, hi: 80 }] }, verdict: "drop" })]);
    assert.deepEqual(netlinkRules(netlinkOfJson(rs)), [
      [
        "payload load 2b @ transport header + 2 => reg 1",
        "cmp eq reg 1 0x00005000",
        "meta load l4proto => reg 1",
        "cmp eq reg 1 0x00000000",
        "immediate reg 0 drop",
      ],
    ]);
    assert.deepEqual(listedRules(), ["th dport 80 meta l4proto ip drop"], "protocol 0 is named `ip` (HOPOPT) in /etc/protocols");
  });

  test("nft 1.0.6 aborts listing Talos's protocol-0 shape with a port set; ingressfw's order (ports first) lists", () => {
    const talosShape = {
      nftables: [
        { add: { table: { family: "inet", name: TABLE } } },
        { delete: { table: { family: "inet", name: TABLE } } },
        { add: { table: { family: "inet", name: TABLE } } },
        { add: { chain: { family: "inet", table: TABLE, name: "ingress", type: "filter", hook: "input", prio: 0, policy: "accept" } } },
        {
          add: {
            rule: {
              family: "inet",
              table: TABLE,
              chain: "ingress",
              expr: [
                { match: { op: "==", left: { meta: { key: "l4proto" } }, right: 0 } },
                { match: { op: "==", left: { payload: { protocol: "th", field: "dport" } }, right: { set: [{ range: [80, 81] }, 100] } } },
                { drop: null },
              ],
            },
          },
        },
      ],
    };
    loadRuleset(ns, JSON.stringify(talosShape), "json");
    const chains = JSON.parse(inNetns(ns, "nft", ["-j", "list", "chains"])).nftables as { chain?: { table: string } }[];
    assert.equal(chains.filter((o) => o.chain?.table === TABLE).length, 1, "the table is loaded");
    for (const args of [
      ["list", "table", "inet", TABLE],
      ["-j", "list", "table", "inet", TABLE],
      ["list", "ruleset"],
      ["list", "tables"],
    ]) {
      assert.throws(() => inNetns(ns, "nft", args), /Assertion `desc->base == expr->payload.base' failed/, args.join(" "));
    }
    const ours = rulesetOf([
      rule({
        l4: {
          protocol: 0,
          dports: [
            { lo: 80, hi: 81 },
            { lo: 100, hi: 100 },
          ],
        },
        verdict: "drop",
      }),
    ]);
    inNetns(ns, "nft", ["delete", "table", "inet", TABLE]);
    loadRuleset(ns, json(ours), "json");
    assert.deepEqual(listedRules(), ["th dport { 80-81, 100 } meta l4proto ip drop"], "ingressfw's order lists");
  });

  test("a one-element set is compiled by nft to a plain comparison (Talos keeps a set): the listing loses the braces", () => {
    const rs = rulesetOf([
      rule({ src: { include: [p("172.20.0.0/24")], exclude: [], invert: true }, l4: { protocol: 6, dports: [{ lo: 2000, hi: 2000 }] }, verdict: "drop" }),
    ]);
    const [v4] = netlinkRules(netlinkOfJson(rs));
    assert.deepEqual(v4, [
      "meta load l4proto => reg 1",
      "cmp eq reg 1 0x00000006",
      "meta load nfproto => reg 1",
      "cmp eq reg 1 0x00000002",
      "payload load 3b @ network header + 12 => reg 1",
      "cmp neq reg 1 0x000014ac",
      "payload load 2b @ transport header + 2 => reg 1",
      "cmp eq reg 1 0x0000d007",
      "immediate reg 0 drop",
    ]);
    assert.deepEqual(listedRules(), ["ip saddr != 172.20.0.0/24 tcp dport 2000 drop", "meta nfproto ipv6 tcp dport 2000 drop"]);
  });

  test("listing quirks the normalisation absorbs: name-set order, counter values, no default burst", () => {
    const rs = rulesetOf([
      rule({ iifname: { names: ["lo", "siderolink", "kubespan"], negate: false }, counter: true }),
      rule({ ctState: ["established", "related"], counter: true }),
      rule({ l4: { protocol: 58 }, limit: { rate: 5, burst: 5 }, counter: true }),
    ]);
    replaceWithText(renderText(rs));
    assert.deepEqual(listedRules(), [
      'iifname { "lo", "kubespan", "siderolink" } counter packets 0 bytes 0 accept',
      "ct state { established, related } counter packets 0 bytes 0 accept",
      "meta l4proto ipv6-icmp limit rate 5/second counter packets 0 bytes 0 accept",
    ]);
  });
});
