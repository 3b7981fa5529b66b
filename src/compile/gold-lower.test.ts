// Gold compile cases §8.4 (C*) and set-element cases §8.5 (E*): the kernel Expr lists lowerRule
// builds, and — in a throwaway namespace — the netlink expressions and set elements nft sends for them.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FAMILY_MAX, parseAddress, parsePrefix, type Family } from "../net/address.js";
import type { Interval, IntervalSet } from "../net/interval.js";
import { netlinkRules, netlinkSetElements, nftFromFile } from "../../test/support/listing.js";
import { createNetns, kernelSkipReason } from "../../test/support/netns.js";
import { familySet } from "../net/source-set.js";
import { lowerRule } from "./families.js";
import type { IrRule, Origin } from "./ir.js";
import { layoutPerRule } from "./layouts/per-rule.js";
import { renderJson } from "./nft-json.js";
import type { Expr } from "./ruleset.js";

const origin: Origin = { kind: "builtin", id: "pod-service" };
const rule = (parts: Partial<IrRule>): IrRule => ({ counter: false, verdict: "accept", origin, ...parts });
const p = parsePrefix;
const portSet = (...spans: [number, number][]): IntervalSet => spans.map(([lo, hi]) => ({ lo: BigInt(lo), hi: BigInt(hi) }));
const addrSet = (...ranges: [string, string][]): IntervalSet => ranges.map(([lo, hi]) => ({ lo: parseAddress(lo)!.value, hi: parseAddress(hi)!.value }));
const exprsOf = (r: IrRule): Expr[][] => lowerRule(r).map((k) => [...k.exprs]);
const drop: Expr = { type: "verdict", verdict: "drop" };
const accept: Expr = { type: "verdict", verdict: "accept" };

describe("§8.4 compile cases: lowerRule's kernel Expr lists", () => {
  test("C1 empty: not representable — an IR rule without a verdict does not type-check", () => {
    // @ts-expect-error every IR rule carries a verdict, so Talos's empty rule (no kernel rule) cannot arise.
    const empty: IrRule = { counter: false, origin };
    assert.equal(empty.verdict, undefined);
  });

  test("C3 iifname [lo] != : one name is a direct comparison", () => {
    assert.deepEqual(exprsOf(rule({ iifname: { names: ["lo"], negate: true } })), [[{ type: "iifname", op: "!=", names: ["lo"] }, accept]]);
  });

  test("C4 iifname [siderolink, kubespan] == : a name set", () => {
    assert.deepEqual(exprsOf(rule({ iifname: { names: ["siderolink", "kubespan"], negate: false } })), [
      [{ type: "iifname", op: "==", names: ["siderolink", "kubespan"] }, accept],
    ]);
  });

  test("C7 src {} (not inverted) + verdict: no kernel rule", () => {
    assert.deepEqual(exprsOf(rule({ src: { include: [], exclude: [], invert: false }, verdict: "drop" })), []);
  });

  test("C8 src 192.168.0.0/16 minus 192.168.4.0/24, drop: IPv4 only, two ranges", () => {
    const src = { include: [p("192.168.0.0/16")], exclude: [p("192.168.4.0/24")], invert: false };
    assert.deepEqual(exprsOf(rule({ src, verdict: "drop" })), [
      [
        { type: "nfproto", family: 4 },
        { type: "addr", field: "saddr", family: 4, op: "==", set: addrSet(["192.168.0.0", "192.168.3.255"], ["192.168.5.0", "192.168.255.255"]) },
        drop,
      ],
    ]);
  });

  test("C9 src 2001::/16, dst 20fe::/16 inverted, drop: the quirk — an IPv4 rule with no address test", () => {
    const r = rule({
      src: { include: [p("2001::/16")], exclude: [], invert: false },
      dst: { include: [p("20fe::/16")], exclude: [], invert: true },
      verdict: "drop",
    });
    assert.deepEqual(exprsOf(r), [
      [{ type: "nfproto", family: 4 }, drop],
      [
        { type: "nfproto", family: 6 },
        { type: "addr", field: "saddr", family: 6, op: "==", set: addrSet(["2001::", "2001:ffff:ffff:ffff:ffff:ffff:ffff:ffff"]) },
        { type: "addr", field: "daddr", family: 6, op: "!=", set: addrSet(["20fe::", "20fe:ffff:ffff:ffff:ffff:ffff:ffff:ffff"]) },
        drop,
      ],
    ]);
  });

  test("C10 dst 20fe::/16, drop: IPv6 only", () => {
    assert.deepEqual(exprsOf(rule({ dst: { include: [p("20fe::/16")], exclude: [], invert: false }, verdict: "drop" })), [
      [
        { type: "nfproto", family: 6 },
        { type: "addr", field: "daddr", family: 6, op: "==", set: addrSet(["20fe::", "20fe:ffff:ffff:ffff:ffff:ffff:ffff:ffff"]) },
        drop,
      ],
    ]);
  });

  test("C11 src 192.168.37.45/32 inverted, drop: IPv4 not-in test, and all of IPv6", () => {
    assert.deepEqual(exprsOf(rule({ src: { include: [p("192.168.37.45/32")], exclude: [], invert: true }, verdict: "drop" })), [
      [{ type: "nfproto", family: 4 }, { type: "addr", field: "saddr", family: 4, op: "!=", set: addrSet(["192.168.37.45", "192.168.37.45"]) }, drop],
      [{ type: "nfproto", family: 6 }, drop],
    ]);
  });

  test("C12 l4 udp: meta l4proto 17", () => {
    assert.deepEqual(exprsOf(rule({ l4: { protocol: 17 } })), [[{ type: "l4proto", protocol: 17 }, accept]]);
  });

  test("C14 l4 tcp, dport [2000]: l4proto 6 then the port set", () => {
    assert.deepEqual(exprsOf(rule({ l4: { protocol: 6, dports: [{ lo: 2000, hi: 2000 }] } })), [
      [{ type: "l4proto", protocol: 6 }, { type: "dport", set: portSet([2000, 2000]) }, accept],
    ]);
  });

  test("C15 limit 5 (talos profile): rate 5/second burst 5", () => {
    assert.deepEqual(exprsOf(rule({ limit: { rate: 5, burst: 5 } })), [[{ type: "limit", rate: 5, burst: 5 }, accept]]);
  });

  test("C16 counter", () => {
    assert.deepEqual(exprsOf(rule({ counter: true })), [[{ type: "counter" }, accept]]);
  });

  test("C17 ct [invalid]: a single state", () => {
    assert.deepEqual(exprsOf(rule({ ctState: ["invalid"] })), [[{ type: "ctState", states: ["invalid"] }, accept]]);
  });

  test("C18 ct [related, established]: a state set, order kept", () => {
    assert.deepEqual(exprsOf(rule({ ctState: ["related", "established"] })), [[{ type: "ctState", states: ["related", "established"] }, accept]]);
  });

  test("C19 l4 icmp, types [13, 14]: l4proto 1 then the type set", () => {
    assert.deepEqual(exprsOf(rule({ l4: { protocol: 1, icmpTypes: [13, 14] } })), [
      [{ type: "l4proto", protocol: 1 }, { type: "icmpType", types: [13, 14] }, accept],
    ]);
  });

  test("§5.7 order: pre (iifname, ct, l4proto), family (nfproto, src, dst), post (dport, icmp type, limit, counter, verdict)", () => {
    const r = rule({
      iifname: { names: ["eth0"], negate: false },
      ctState: ["new"],
      l4: { protocol: 6, dports: [{ lo: 22, hi: 22 }] },
      src: { include: [p("10.0.0.0/8")], exclude: [], invert: false },
      dst: { include: [p("10.1.0.0/16")], exclude: [], invert: false },
      limit: { rate: 5, burst: null },
      counter: true,
    });
    assert.deepEqual(
      exprsOf(r).map((k) => k.map((e) => e.type)),
      [["iifname", "ctState", "l4proto", "nfproto", "addr", "addr", "dport", "limit", "counter", "verdict"]],
    );
  });
});

/** Talos's element encoding (§5.9): a start element per range and an interval-end element at hi + 1, left out on overflow. */
function talosElements(set: IntervalSet, max: bigint): [bigint, "S" | "E"][] {
  return set.flatMap((iv: Interval): [bigint, "S" | "E"][] =>
    iv.hi === max
      ? [[iv.lo, "S"]]
      : [
          [iv.lo, "S"],
          [iv.hi + 1n, "E"],
        ],
  );
}

const PORT_MAX = 65535n;
const dportSetOf = (...spans: [number, number][]): IntervalSet => {
  const [k] = lowerRule(rule({ l4: { protocol: 6, dports: spans.map(([lo, hi]) => ({ lo, hi })) } }));
  const e = k!.exprs.find((x) => x.type === "dport");
  assert.ok(e && e.type === "dport");
  return e.set;
};
const v4 = (a: string) => parseAddress(a)!.value;
const v6 = v4;

describe("§8.5 set elements and address sets", () => {
  test("E1 ports {443}, {80-81}, {5000}, {5001}: sorted, adjacent ranges merged", () => {
    const set = dportSetOf([443, 443], [80, 81], [5000, 5000], [5001, 5001]);
    assert.deepEqual(set, portSet([80, 81], [443, 443], [5000, 5001]));
    assert.deepEqual(talosElements(set, PORT_MAX), [
      [80n, "S"],
      [82n, "E"],
      [443n, "S"],
      [444n, "E"],
      [5000n, "S"],
      [5002n, "E"],
    ]);
  });

  test("E2 ports {65530-65535}: no end element after the last port", () => {
    const set = dportSetOf([65530, 65535]);
    assert.deepEqual(set, portSet([65530, 65535]));
    assert.deepEqual(talosElements(set, PORT_MAX), [[65530n, "S"]]);
  });

  test("E3 IPv4 10.0.0.0–10.0.0.255", () => {
    const set = familySet([p("10.0.0.0/24")], [], 4);
    assert.deepEqual(set, addrSet(["10.0.0.0", "10.0.0.255"]));
    assert.deepEqual(talosElements(set, FAMILY_MAX[4]), [
      [v4("10.0.0.0"), "S"],
      [v4("10.0.1.0"), "E"],
    ]);
  });

  test("E4 IPv4 10.0.0.0–255.255.255.255: start element only", () => {
    const set = familySet([p("0.0.0.0/0")], [p("0.0.0.0/5"), p("8.0.0.0/7")], 4);
    assert.deepEqual(set, addrSet(["10.0.0.0", "255.255.255.255"]));
    assert.deepEqual(talosElements(set, FAMILY_MAX[4]), [[v4("10.0.0.0"), "S"]]);
  });

  test("E5 IPv6 fe80::2–ffff:…:ffff: start element only", () => {
    const set = familySet(
      [p("::/0")],
      [p("::/1"), p("8000::/2"), p("c000::/3"), p("e000::/4"), p("f000::/5"), p("f800::/6"), p("fc00::/7"), p("fe00::/9"), p("fe80::/127")],
      6,
    );
    assert.deepEqual(set, addrSet(["fe80::2", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"]));
    assert.deepEqual(talosElements(set, FAMILY_MAX[6]), [[v6("fe80::2"), "S"]]);
  });

  test("E6 ports {0}", () => {
    const set = dportSetOf([0, 0]);
    assert.deepEqual(set, portSet([0, 0]));
    assert.deepEqual(talosElements(set, PORT_MAX), [
      [0n, "S"],
      [1n, "E"],
    ]);
  });

  test("ipset case: [10.0.0.0/8, 2001:db8::/32] minus [10.4.0.0/16] → S4 two ranges, S6 one", () => {
    const include = [p("10.0.0.0/8"), p("2001:db8::/32")];
    const exclude = [p("10.4.0.0/16")];
    assert.deepEqual(familySet(include, exclude, 4), addrSet(["10.0.0.0", "10.3.255.255"], ["10.5.0.0", "10.255.255.255"]));
    assert.deepEqual(familySet(include, exclude, 6), addrSet(["2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"]));
  });
});

// ---- The same cases in the kernel: what nft sends for ingressfw's JSON transaction (§5.7, §5.13) ----

const skip = kernelSkipReason();
// Created at module level: netns.ts deletes its namespaces in an `after` hook registered on first use.
const ns = skip ? "" : createNetns("gldc");

/** Load one IR rule as the apply transaction would and return nft's netlink debug output. */
function netlinkOf(...rules: IrRule[]): string {
  const rs = layoutPerRule({ chains: [{ name: "c", hook: "input", priority: 0, policy: "accept", rules }] }, "gold", "talos");
  return nftFromFile(ns, ["--debug=netlink", "-j"], JSON.stringify(renderJson(rs)));
}

const L4 = (proto: number) => ["meta load l4proto => reg 1", `cmp eq reg 1 0x${proto.toString(16).padStart(8, "0")}`];
const NFPROTO = (f: Family) => ["meta load nfproto => reg 1", `cmp eq reg 1 0x0000000${f === 4 ? "2" : "a"}`];
const LOOKUP = "lookup reg 1 set __set%d";
const LOOKUP_NOT = "lookup reg 1 set __set%d 0x1";

describe("§8.4 in the kernel: the JSON transaction gives Talos's expression layout", { skip }, () => {
  test("C3: iifname != 'lo' is a 16-byte NUL-padded cmp neq", () => {
    assert.deepEqual(netlinkRules(netlinkOf(rule({ iifname: { names: ["lo"], negate: true } }))), [
      ["meta load iifname => reg 1", "cmp neq reg 1 0x00006f6c 0x00000000 0x00000000 0x00000000", "immediate reg 0 accept"],
    ]);
  });

  test("C4: two names are a set lookup with 16-byte padded elements", () => {
    const out = netlinkOf(rule({ iifname: { names: ["siderolink", "kubespan"], negate: false } }));
    assert.deepEqual(netlinkRules(out), [["meta load iifname => reg 1", LOOKUP, "immediate reg 0 accept"]]);
    const [names] = netlinkSetElements(out, 16);
    const text = (k: bigint) => Buffer.from(k.toString(16).padStart(32, "0"), "hex").toString("latin1");
    assert.deepEqual(names?.map((e) => text(e.key)).sort(), ["kubespan".padEnd(16, "\0"), "siderolink".padEnd(16, "\0")]);
  });

  test("C8: nfproto ipv4, network header +12/4, set lookup; elements as Talos encodes them", () => {
    const out = netlinkOf(rule({ src: { include: [p("192.168.0.0/16")], exclude: [p("192.168.4.0/24")], invert: false }, verdict: "drop" }));
    assert.deepEqual(netlinkRules(out), [[...NFPROTO(4), "payload load 4b @ network header + 12 => reg 1", LOOKUP, "immediate reg 0 drop"]]);
    // nft opens an interval set with an end element at 0 when the first range starts above 0; the rest is Talos's encoding.
    const [elements] = netlinkSetElements(out, 4);
    assert.deepEqual(elements?.[0], { key: 0n, end: true });
    assert.deepEqual(
      elements?.slice(1).map((e): [bigint, "S" | "E"] => [e.key, e.end ? "E" : "S"]),
      talosElements(addrSet(["192.168.0.0", "192.168.3.255"], ["192.168.5.0", "192.168.255.255"]), FAMILY_MAX[4]),
    );
  });

  test("C9 (two-prefix sets): IPv4 rule with no test; IPv6 +8/16 in set, +24/16 not in set", () => {
    const r = rule({
      src: { include: [p("2001::/16"), p("3001::/16")], exclude: [], invert: false },
      dst: { include: [p("20fe::/16"), p("30fe::/16")], exclude: [], invert: true },
      verdict: "drop",
    });
    assert.deepEqual(netlinkRules(netlinkOf(r)), [
      [...NFPROTO(4), "immediate reg 0 drop"],
      [
        ...NFPROTO(6),
        "payload load 16b @ network header + 8 => reg 1",
        LOOKUP,
        "payload load 16b @ network header + 24 => reg 1",
        LOOKUP_NOT,
        "immediate reg 0 drop",
      ],
    ]);
  });

  test("C12, C14 (two ports), C15, C16: l4proto, transport header +2/2 lookup, limit, counter", () => {
    const r = rule({
      l4: {
        protocol: 17,
        dports: [
          { lo: 2000, hi: 2000 },
          { lo: 3000, hi: 3000 },
        ],
      },
      limit: { rate: 5, burst: 5 },
      counter: true,
    });
    assert.deepEqual(netlinkRules(netlinkOf(r)), [
      [
        ...L4(17),
        "payload load 2b @ transport header + 2 => reg 1",
        LOOKUP,
        "limit rate 5/second burst 5 type packets flags 0x0",
        "counter pkts 0 bytes 0",
        "immediate reg 0 accept",
      ],
    ]);
  });

  test("C17: one ct state is a bitwise test (mask 0x00000001 for invalid), cmp neq 0", () => {
    assert.deepEqual(netlinkRules(netlinkOf(rule({ ctState: ["invalid"], verdict: "drop" }))), [
      ["ct load state => reg 1", "bitwise reg 1 = ( reg 1 & 0x00000001 ) ^ 0x00000000", "cmp neq reg 1 0x00000000", "immediate reg 0 drop"],
    ]);
  });

  test("C18: several ct states are a set lookup (related = 4, established = 2)", () => {
    const out = netlinkOf(rule({ ctState: ["related", "established"] }));
    assert.deepEqual(netlinkRules(out), [["ct load state => reg 1", LOOKUP, "immediate reg 0 accept"]]);
    assert.deepEqual(
      netlinkSetElements(out, 4)[0]?.map((e) => e.key),
      [0x04000000n, 0x02000000n],
    );
  });

  test("C19: l4proto 1, transport header +0/1 lookup", () => {
    const out = netlinkOf(rule({ l4: { protocol: 1, icmpTypes: [13, 14] }, verdict: "drop" }));
    assert.deepEqual(netlinkRules(out), [[...L4(1), "payload load 1b @ transport header + 0 => reg 1", LOOKUP, "immediate reg 0 drop"]]);
    assert.deepEqual(
      netlinkSetElements(out, 1)[0]?.map((e) => e.key),
      [13n, 14n],
    );
  });

  test("E1: the port set nft sends is Talos's element list (after nft's leading end-at-0 element)", () => {
    const out = netlinkOf(rule({ l4: { protocol: 6, dports: [443, 80, 5000, 5001].map((n) => ({ lo: n, hi: n === 80 ? 81 : n })) } }));
    const [elements] = netlinkSetElements(out, 2);
    assert.deepEqual(elements?.[0], { key: 0n, end: true });
    assert.deepEqual(
      elements?.slice(1).map((e): [bigint, "S" | "E"] => [e.key, e.end ? "E" : "S"]),
      talosElements(portSet([80, 81], [443, 443], [5000, 5001]), PORT_MAX),
    );
  });

  test("E2/E4/E5 in a set: a range ending at the maximum applies and has no end element", () => {
    const ports = netlinkSetElements(
      netlinkOf(
        rule({
          l4: {
            protocol: 6,
            dports: [
              { lo: 1, hi: 1 },
              { lo: 65530, hi: 65535 },
            ],
          },
        }),
      ),
      2,
    )[0];
    assert.deepEqual(ports?.slice(1), [
      { key: 1n, end: false },
      { key: 2n, end: true },
      { key: 65530n, end: false },
    ]);
    const v4set = netlinkSetElements(netlinkOf(rule({ src: { include: [p("0.0.0.0/0")], exclude: [p("10.1.2.3/32")], invert: false } })), 4)[0];
    assert.deepEqual(v4set, [
      { key: 0n, end: false },
      { key: v4("10.1.2.3"), end: true },
      { key: v4("10.1.2.4"), end: false },
    ]);
    const v6set = netlinkSetElements(netlinkOf(rule({ src: { include: [p("::/0")], exclude: [p("fe80::1/128")], invert: false } })), 16)[0];
    assert.deepEqual(v6set, [
      { key: 0n, end: false },
      { key: v6("fe80::1"), end: true },
      { key: v6("fe80::2"), end: false },
    ]);
  });

  test("ipset case in the kernel: S4 elements 10.0.0.0 S, 10.4.0.0 E, 10.5.0.0 S, 11.0.0.0 E", () => {
    const out = netlinkOf(rule({ src: { include: [p("10.0.0.0/8"), p("2001:db8::/32")], exclude: [p("10.4.0.0/16")], invert: false } }));
    const [s4] = netlinkSetElements(out, 4);
    assert.deepEqual(s4?.slice(1), [
      { key: v4("10.0.0.0"), end: false },
      { key: v4("10.4.0.0"), end: true },
      { key: v4("10.5.0.0"), end: false },
      { key: v4("11.0.0.0"), end: true },
    ]);
  });
});
