import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { canonicalRule, jsonEqual, stableJson } from "./canonical.js";

// Pairs of (expressions as ingressfw sends them, the same rule as `nft -j list` printed it) — the
// listed side copied from nft 1.0.6 output on kernel 6.18.
const m = (op: string, left: unknown, right: unknown) => ({ match: { op, left, right } });
const meta = (key: string) => ({ meta: { key } });
const payload = (protocol: string, field: string) => ({ payload: { protocol, field } });
const ct = { ct: { key: "state" } };
const sentCounter = { counter: null };
const listedCounter = { counter: { packets: 12, bytes: 3456 } };

const PAIRS: Record<string, [unknown[], unknown[]]> = {
  "interface names come back reordered": [
    [m("==", meta("iifname"), { set: ["lo", "siderolink", "kubespan"] }), sentCounter, { accept: null }],
    [m("==", meta("iifname"), { set: ["lo", "kubespan", "siderolink"] }), listedCounter, { accept: null }],
  ],
  "one conntrack state is a bitmask test on both sides": [
    [m("in", ct, "invalid"), sentCounter, { drop: null }],
    [m("in", ct, "invalid"), listedCounter, { drop: null }],
  ],
  "ICMP types: meta l4proto elided, numbers listed as names": [
    [m("==", meta("l4proto"), "icmp"), m("==", payload("icmp", "type"), { set: [13, 14, 17, 18] }), sentCounter, { drop: null }],
    [
      m("==", payload("icmp", "type"), { set: ["timestamp-request", "timestamp-reply", "address-mask-request", "address-mask-reply"] }),
      listedCounter,
      { drop: null },
    ],
  ],
  "limit without burst is listed with the default burst 5": [
    [m("==", meta("l4proto"), "icmp"), { limit: { rate: 5, per: "second" } }, { accept: null }],
    [m("==", meta("l4proto"), "icmp"), { limit: { rate: 5, burst: 5, per: "second" } }, { accept: null }],
  ],
  "host-DNS rule: nfproto and l4proto folded, one-element sets listed as values": [
    [
      m("==", meta("l4proto"), "udp"),
      m("==", meta("nfproto"), "ipv4"),
      m("==", payload("ip", "saddr"), { set: [{ prefix: { addr: "10.96.0.0", len: 12 } }, { prefix: { addr: "10.244.0.0", len: 16 } }] }),
      m("==", payload("ip", "daddr"), { set: ["169.254.116.108"] }),
      m("==", payload("th", "dport"), { set: [53] }),
      sentCounter,
      { accept: null },
    ],
    [
      m("==", payload("ip", "saddr"), { set: [{ prefix: { addr: "10.96.0.0", len: 12 } }, { prefix: { addr: "10.244.0.0", len: 16 } }] }),
      m("==", payload("ip", "daddr"), "169.254.116.108"),
      m("==", payload("udp", "dport"), 53),
      listedCounter,
      { accept: null },
    ],
  ],
  "ICMP 'ports' are listed as the ICMP checksum": [
    [
      m("==", meta("l4proto"), "icmp"),
      m("==", meta("nfproto"), "ipv4"),
      m("==", payload("ip", "saddr"), { set: ["10.1.2.3"] }),
      m("==", payload("th", "dport"), { set: [5] }),
      sentCounter,
      { accept: null },
    ],
    [m("==", payload("ip", "saddr"), "10.1.2.3"), m("==", payload("icmp", "checksum"), 5), listedCounter, { accept: null }],
  ],
  "ICMPv6 'ports' with a range": [
    [
      m("==", meta("l4proto"), "ipv6-icmp"),
      m("==", meta("nfproto"), "ipv6"),
      m("==", payload("th", "dport"), { set: [5, { range: [7, 9] }] }),
      { accept: null },
    ],
    [m("==", meta("nfproto"), "ipv6"), m("==", payload("icmpv6", "checksum"), { set: [5, { range: [7, 9] }] }), { accept: null }],
  ],
  "protocol 0: `meta l4proto 0` is not listed before `th dport`": [
    [
      m("==", meta("l4proto"), 0),
      m("==", meta("nfproto"), "ipv4"),
      m("==", payload("ip", "saddr"), { set: ["10.1.2.3"] }),
      m("==", payload("th", "dport"), { set: [5] }),
      { accept: null },
    ],
    [m("==", payload("ip", "saddr"), "10.1.2.3"), m("==", payload("th", "dport"), 5), { accept: null }],
  ],
  "IPv6 prefix alone; ports sorted and merged the same way": [
    [
      m("==", meta("l4proto"), "tcp"),
      m("==", meta("nfproto"), "ipv6"),
      m("==", payload("ip6", "saddr"), { set: [{ prefix: { addr: "2001:db8::", len: 32 } }] }),
      m("==", payload("th", "dport"), { set: [{ range: [2379, 2380] }, 10250, { range: [65530, 65535] }] }),
      { accept: null },
    ],
    [
      m("==", payload("ip6", "saddr"), { prefix: { addr: "2001:db8::", len: 32 } }),
      m("==", payload("tcp", "dport"), { set: [{ range: [2379, 2380] }, 10250, { range: [65530, 65535] }] }),
      { accept: null },
    ],
  ],
  "not-for-node: an inverted one-element set becomes `!=` a value": [
    [m("==", meta("nfproto"), "ipv4"), m("!=", payload("ip", "daddr"), { set: ["10.3.4.5"] }), sentCounter, { accept: null }],
    [m("!=", payload("ip", "daddr"), "10.3.4.5"), listedCounter, { accept: null }],
  ],
  "an address range and the same range spelled as a prefix": [
    [m("==", meta("nfproto"), "ipv4"), m("==", payload("ip", "saddr"), { set: [{ range: ["10.0.0.0", "10.0.0.255"] }] }), { accept: null }],
    [m("==", payload("ip", "saddr"), { prefix: { addr: "10.0.0.0", len: 24 } }), { accept: null }],
  ],
};

describe("canonicalRule: what nft lists equals what was sent", () => {
  for (const [name, [sent, listed]] of Object.entries(PAIRS)) {
    it(name, () => assert.equal(canonicalRule(listed), canonicalRule(sent)));
  }
});

describe("canonicalRule: real differences stay different", () => {
  const base = [
    m("==", meta("l4proto"), "tcp"),
    m("==", meta("nfproto"), "ipv4"),
    m("==", payload("ip", "saddr"), { set: [{ prefix: { addr: "10.0.0.0", len: 24 } }] }),
    m("==", payload("th", "dport"), { set: [53] }),
    sentCounter,
    { accept: null },
  ];
  const variants: Record<string, unknown[]> = {
    "another port": base.map((e, i) => (i === 3 ? m("==", payload("th", "dport"), { set: [54] }) : e)),
    "another prefix length": base.map((e, i) => (i === 2 ? m("==", payload("ip", "saddr"), { set: [{ prefix: { addr: "10.0.0.0", len: 25 } }] }) : e)),
    "another protocol": base.map((e, i) => (i === 0 ? m("==", meta("l4proto"), "udp") : e)),
    "inverted address test": base.map((e, i) => (i === 2 ? m("!=", payload("ip", "saddr"), { set: [{ prefix: { addr: "10.0.0.0", len: 24 } }] }) : e)),
    "another verdict": [...base.slice(0, 5), { drop: null }],
    "no counter": [...base.slice(0, 4), { accept: null }],
    "counter before a match": [base[0], sentCounter, ...base.slice(1, 4), { accept: null }],
    "an extra match": [m("==", meta("iifname"), "eth0"), ...base],
    "protocol 0 instead of tcp without a port test": [m("==", meta("l4proto"), 0), ...base.slice(1, 3), sentCounter, { accept: null }],
  };
  const canonicalBase = canonicalRule(base);
  for (const [name, v] of Object.entries(variants)) {
    it(name, () => assert.notEqual(canonicalRule(v), canonicalBase));
  }
  it("a different limit rate", () => {
    assert.notEqual(canonicalRule([{ limit: { rate: 5, per: "second" } }]), canonicalRule([{ limit: { rate: 6, per: "second" } }]));
    assert.notEqual(canonicalRule([{ limit: { rate: 5, per: "second" } }]), canonicalRule([{ limit: { rate: 5, burst: 6, per: "second" } }]));
  });
});

describe("canonicalRule: set spelling does not matter", () => {
  it("port sets compare by the ports they contain", () => {
    const ports = fc.uniqueArray(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 30 });
    fc.assert(
      fc.property(ports, fc.integer(), (list, seed) => {
        // the same set as single ports in one order, and as maximal ranges in another
        const sorted = [...list].sort((a, b) => a - b);
        const ranges: unknown[] = [];
        for (let i = 0; i < sorted.length;) {
          let j = i;
          while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
          ranges.push(i === j ? sorted[i] : { range: [sorted[i], sorted[j]] });
          i = j + 1;
        }
        const shuffled = [...list].sort((a, b) => ((a * 31 + seed) % 97) - ((b * 31 + seed) % 97));
        const a = canonicalRule([m("==", payload("th", "dport"), { set: shuffled }), { accept: null }]);
        const b = canonicalRule([m("==", payload("th", "dport"), ranges.length === 1 ? ranges[0] : { set: ranges.reverse() }), { accept: null }]);
        return a === b;
      }),
    );
  });
});

describe("jsonEqual", () => {
  it("agrees with comparing stableJson texts, for random JSON and for a value and its copy with keys reordered", () => {
    const reorder = (v: unknown): unknown =>
      Array.isArray(v)
        ? v.map(reorder)
        : v && typeof v === "object"
          ? Object.fromEntries(
              Object.entries(v)
                .reverse()
                .map(([k, x]) => [k, reorder(x)]),
            )
          : v;
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => {
        assert.equal(jsonEqual(a, b), stableJson(a) === stableJson(b));
        assert.ok(jsonEqual(a, reorder(a)));
      }),
      { numRuns: 2000 },
    );
    assert.equal(jsonEqual({ a: 1 }, { a: 1, b: undefined }), false, "a missing key is not an undefined one");
  });
});
