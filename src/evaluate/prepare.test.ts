// The evaluator's per-class copies of chains (family, protocol, conntrack state) decide exactly as the
// rules do: a dropped rule could never have matched, nor needed the port, nor thrown first.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Origin } from "../compile/ir.js";
import type { Expr, Ruleset } from "../compile/ruleset.js";
import { parseAddress } from "../net/address.js";
import { evaluate } from "./evaluate.js";
import { packet, trace } from "./test-support/packets.js";

const origin = (id: string): Origin => ({ kind: "rule", name: id, pos: { file: "t.yaml", line: 1, col: 1 } });
const drop: Expr = { type: "verdict", verdict: "drop" };
const accept: Expr = { type: "verdict", verdict: "accept" };

function ruleset(...rules: Expr[][]): Ruleset {
  return {
    family: "inet",
    table: "t",
    profile: "talos",
    layout: "per-rule",
    chains: [{ name: "in", base: { hook: "input", priority: 0, policy: "accept" }, rules: rules.map((exprs, i) => ({ exprs, origin: origin(`r${i}`) })) }],
  };
}

const tenSlash8 = [{ lo: parseAddress("10.0.0.0")!.value, hi: parseAddress("10.255.255.255")!.value }];

describe("evaluator: rules specialised per packet class", () => {
  it("a test the class fails after an ICMP type test still lets that test throw first", () => {
    const rs = ruleset([{ type: "icmpType", types: [8] }, { type: "l4proto", protocol: 17 }, drop]);
    assert.throws(() => evaluate(rs, packet({ from: "10.0.0.1", port: 22 })), /ICMP type test needs an ICMP packet/);
  });

  it("a test the class fails before an ICMP type test ends the rule", () => {
    const rs = ruleset([{ type: "l4proto", protocol: 17 }, { type: "icmpType", types: [8] }, drop]);
    assert.equal(trace(evaluate(rs, packet({ from: "10.0.0.1", port: 22 }))), "accept | in:policy:accept");
  });

  it("a test the class passes is skipped; a port test after it still asks for the port", () => {
    const rs = ruleset([{ type: "l4proto", protocol: 6 }, { type: "dport", set: [{ lo: 22n, hi: 22n }] }, drop]);
    assert.equal(trace(evaluate(rs, packet({ from: "10.0.0.1" }))), "depends on dport: 0-21,23-65535 => accept | in:policy:accept; 22 => drop | in[0]:r0:drop");
    assert.equal(trace(evaluate(rs, packet({ from: "10.0.0.1", proto: "udp" }))), "accept | in:policy:accept");
  });

  it("conntrack states, families and protocols each see their own rules, and share the deciders", () => {
    const rs = ruleset(
      [{ type: "ctState", states: ["established", "related"] }, accept],
      [{ type: "addr", field: "saddr", family: 4, op: "!=", set: tenSlash8 }, drop],
      [{ type: "nfproto", family: 6 }, { type: "l4proto", protocol: 17 }, drop],
    );
    const cases: [Parameters<typeof packet>[0], string][] = [
      [{ from: "10.0.0.1" }, "accept | in:policy:accept"],
      [{ from: "11.0.0.1" }, "drop | in[1]:r1:drop"],
      [{ from: "11.0.0.1", state: "established" }, "accept | in[0]:r0:accept"],
      [{ from: "11.0.0.1", state: "related", proto: "udp" }, "accept | in[0]:r0:accept"],
      [{ from: "2001:db8::1" }, "accept | in:policy:accept"],
      [{ from: "2001:db8::1", proto: "udp" }, "drop | in[2]:r2:drop"],
      // Protocol numbers no packet carries are evaluated on the unspecialised rules.
      [{ from: "11.0.0.1", proto: 300 }, "drop | in[1]:r1:drop"],
      [{ from: "2001:db8::1", proto: -1 }, "accept | in:policy:accept"],
    ];
    for (const round of [1, 2])
      for (const [spec, expected] of cases) assert.equal(trace(evaluate(rs, packet(spec))), expected, `${JSON.stringify(spec)} (round ${round})`);
    const established = evaluate(rs, packet({ from: "11.0.0.1", state: "established" }));
    const related = evaluate(rs, packet({ from: "11.0.0.1", state: "related", proto: "udp" }));
    assert.ok(established.verdict !== "depends" && related.verdict !== "depends");
    assert.equal(established.by, related.by, "one decider per rule and path, whichever class reached it");
  });
});
