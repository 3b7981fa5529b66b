// Canonical forms of the port-map layout's objects: what ingressfw sends and what `nft -j list` prints
// (spellings observed with nft 1.0.6) compare equal; real differences do not.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { canonicalRule, canonicalSet } from "./canonical.js";

const l4 = (p: string | number) => ({ match: { op: "==", left: { meta: { key: "l4proto" } }, right: p } });
const vmap = (protocol: string, field: string, data: string) => ({ vmap: { key: { payload: { protocol, field } }, data } });

describe("canonical rules with map lookups, named sets and jumps", () => {
  it("`meta l4proto tcp` + `th dport vmap` equals the listed `tcp dport vmap`; ICMP equals `icmp checksum vmap`", () => {
    assert.equal(canonicalRule([l4("tcp"), vmap("th", "dport", "@p6_dports")]), canonicalRule([vmap("tcp", "dport", "@p6_dports")]));
    assert.equal(canonicalRule([l4("icmp"), vmap("th", "dport", "@p1_dports")]), canonicalRule([vmap("icmp", "checksum", "@p1_dports")]));
    assert.notEqual(canonicalRule([l4("udp"), vmap("th", "dport", "@p6_dports")]), canonicalRule([vmap("tcp", "dport", "@p6_dports")]));
    assert.notEqual(canonicalRule([vmap("tcp", "dport", "@p6_dports")]), canonicalRule([vmap("tcp", "dport", "@p17_dports")]));
  });

  it("`meta l4proto 0` is listed as `ip`; a source map lookup implies its family", () => {
    assert.equal(canonicalRule([l4(0), { jump: { target: "p0" } }]), canonicalRule([l4("ip"), { jump: { target: "p0" } }]));
    assert.equal(
      canonicalRule([{ match: { op: "==", left: { meta: { key: "nfproto" } }, right: "ipv4" } }, vmap("ip", "saddr", "@o0_v4")]),
      canonicalRule([vmap("ip", "saddr", "@o0_v4")]),
    );
  });

  it("a named-set match compares by set name", () => {
    const set = (name: string) => ({ match: { op: "==", left: { payload: { protocol: "ip", field: "saddr" } }, right: name } });
    assert.equal(
      canonicalRule([set("@c0_v4"), { counter: null }, { accept: null }]),
      canonicalRule([set("@c0_v4"), { counter: { packets: 3, bytes: 180 } }, { accept: null }]),
    );
    assert.notEqual(canonicalRule([set("@c0_v4"), { accept: null }]), canonicalRule([set("@c1_v4"), { accept: null }]));
    assert.notEqual(canonicalRule([{ jump: { target: "r0" } }]), canonicalRule([{ jump: { target: "r1" } }]));
  });
});

describe("canonicalSet", () => {
  const sent = {
    family: "inet",
    table: "talos",
    name: "c0_v4",
    type: "ipv4_addr",
    flags: ["interval"],
    elem: ["192.168.1.1", { range: ["172.16.0.5", "172.16.0.9"] }, { prefix: { addr: "10.0.0.0", len: 8 } }],
  };
  const listed = {
    family: "inet",
    name: "c0_v4",
    table: "talos",
    type: "ipv4_addr",
    handle: 8,
    flags: ["interval"],
    elem: [{ prefix: { addr: "10.0.0.0", len: 8 } }, { range: ["172.16.0.5", "172.16.0.9"] }, "192.168.1.1"],
  };

  it("a set as sent equals the set as listed; element spelling and order do not matter", () => {
    assert.deepEqual(canonicalSet("set", sent), canonicalSet("set", listed));
    const respelled = { ...listed, elem: ["192.168.1.1", { range: ["10.0.0.0", "10.255.255.255"] }, { range: ["172.16.0.5", "172.16.0.9"] }] };
    assert.deepEqual(canonicalSet("set", respelled), canonicalSet("set", listed));
    assert.deepEqual(canonicalSet("set", listed)?.elements, ["10.0.0.0/8", "172.16.0.5-172.16.0.9", "192.168.1.1"]);
    assert.equal(canonicalSet("set", listed)?.header, "set c0_v4 type ipv4_addr flags interval");
  });

  it("a changed element, type or flag differs", () => {
    assert.notDeepEqual(canonicalSet("set", { ...listed, elem: ["192.168.1.2"] }), canonicalSet("set", listed));
    assert.notDeepEqual(canonicalSet("set", { ...listed, flags: [] }), canonicalSet("set", listed));
  });

  it("a verdict map: keys merge only with the same verdict; ports and addresses", () => {
    const ports = {
      name: "p6_dports",
      type: "inet_service",
      map: "verdict",
      flags: ["interval"],
      elem: [
        [{ range: [2379, 2380] }, { jump: { target: "r0" } }],
        [2381, { jump: { target: "r0" } }],
        [6443, { jump: { target: "r1" } }],
      ],
    };
    assert.deepEqual(canonicalSet("map", ports), {
      header: "map p6_dports type inet_service : verdict flags interval",
      elements: ["2379-2381 : jump r0", "6443 : jump r1"],
    });
    const addrs = {
      name: "o0_v6",
      type: "ipv6_addr",
      map: "verdict",
      flags: ["interval"],
      elem: [[{ prefix: { addr: "fd00::", len: 8 } }, { jump: { target: "r0v" } }]],
    };
    assert.deepEqual(canonicalSet("map", addrs)?.elements, ["fd00::/8 : jump r0v"]);
    assert.equal(canonicalSet("map", { ...ports, elem: [["not-a-port", { accept: null }]] }), null);
  });
});
