// The evaluator on rulesets with regular chains, named sets and verdict maps (port-map layout): jumps,
// falling off a chain's end, return, verdicts inside a jumped-to chain, map lookups without an element.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Origin } from "../compile/ir.js";
import type { Expr, KernelRule, Ruleset } from "../compile/ruleset.js";
import { parseAddress } from "../net/address.js";
import { chainPath, evaluationText } from "./describe.js";
import { evaluate, type Decision } from "./evaluate.js";
import type { Packet } from "./packet.js";

const doc = (name: string): Origin => ({ kind: "rule", name, pos: { file: "t.yaml", line: 1, col: 1 } });
const dispatch: Origin = { kind: "builtin", id: "port-dispatch" };
const r = (origin: Origin, ...exprs: Expr[]): KernelRule => ({ exprs, origin });
const v4 = (t: string) => parseAddress(t)!.value;
const accept: Expr = { type: "verdict", verdict: "accept" };
const drop: Expr = { type: "verdict", verdict: "drop" };

/** ingress (drop policy) → tcp port map → r0 (set lookup) / r1 (return, then drop) / rl (rate limit). */
const RS: Ruleset = {
  family: "inet",
  table: "t",
  profile: "talos",
  layout: "port-map",
  chains: [
    {
      name: "ingress",
      base: { hook: "input", priority: 0, policy: "drop" },
      rules: [
        r(dispatch, { type: "l4proto", protocol: 6 }, { type: "vmap", key: { field: "dport" }, map: "p6" }),
        r(dispatch, { type: "l4proto", protocol: 17 }, { type: "jump", chain: "r1" }),
        r(doc("after"), { type: "l4proto", protocol: 17 }, accept),
      ],
    },
  ],
  regularChains: [
    { name: "r0", rules: [r(doc("a"), { type: "setLookup", field: "saddr", family: 4, set: "s" }, { type: "counter" }, accept)] },
    { name: "r1", rules: [r(doc("b"), { type: "setLookup", field: "saddr", family: 4, set: "s" }, { type: "return" }), r(doc("b"), drop)] },
    {
      name: "rl",
      rules: [r(doc("c"), { type: "limit", rate: 5, burst: 5 }, accept), r(doc("c2"), { type: "vmap", key: { field: "saddr", family: 4 }, map: "src" })],
    },
    { name: "rv", rules: [r(doc("v"), drop)] },
  ],
  sets: [{ name: "s", type: "ipv4_addr", elements: [{ lo: v4("10.0.0.0"), hi: v4("10.255.255.255") }] }],
  maps: [
    {
      name: "p6",
      type: "inet_service",
      elements: [
        { lo: 22n, hi: 22n, jump: "r0" },
        { lo: 80n, hi: 90n, jump: "rl" },
      ],
    },
    { name: "src", type: "ipv4_addr", elements: [{ lo: v4("192.0.2.0"), hi: v4("192.0.2.255"), jump: "rv" }] },
  ],
};

const pkt = (src: string, protocol: number, dport?: number): Packet => ({
  iif: "eth0",
  family: 4,
  src: v4(src),
  dst: v4("10.9.9.9"),
  protocol,
  ...(dport === undefined ? {} : { dport }),
  ctState: "new",
});

const decided = (p: Packet): Decision => {
  const e = evaluate(RS, p);
  assert.notEqual(e.verdict, "depends");
  return e as Decision;
};
const by = (d: Decision) =>
  d.by.kind === "rule" ? `${d.verdict} ${chainPath(d.by)}[${d.by.index}] ${d.by.origin.kind === "rule" ? d.by.origin.name : ""}` : `${d.verdict} ${d.by.kind}`;

describe("evaluator: regular chains and verdict maps", () => {
  it("a map element jumps; a verdict in the jumped-to chain decides, named by its path", () => {
    assert.equal(by(decided(pkt("10.1.1.1", 6, 22))), "accept ingress → r0[0] a");
  });

  it("falling off a jumped-to chain goes back after the jump (here: on to the policy)", () => {
    assert.equal(by(decided(pkt("192.0.2.1", 6, 22))), "drop policy");
  });

  it("no map element: the rule does not match", () => {
    assert.equal(by(decided(pkt("10.1.1.1", 6, 23))), "drop policy");
  });

  it("return resumes after the jump; a verdict later in the chain still applies", () => {
    assert.equal(by(decided(pkt("10.1.1.1", 17, 53))), "accept ingress[2] after");
    assert.equal(by(decided(pkt("192.0.2.1", 17, 53))), "drop ingress → r1[1] b");
  });

  it("a rate limit inside a jumped-to chain: above the rate the walk goes on inside that chain", () => {
    const d = decided(pkt("192.0.2.7", 6, 85));
    assert.ok(d.by.kind === "rule" && d.by.rateLimit !== null);
    assert.equal(by(d), "accept ingress → rl[0] c");
    assert.ok(d.by.kind === "rule" && d.by.aboveRate);
    assert.equal(by(d.by.aboveRate), "drop ingress → rl → rv[0] v", "the source map in rl sends 192.0.2.7 to rv");
    const other = decided(pkt("203.0.113.1", 6, 85));
    assert.ok(other.by.kind === "rule" && other.by.aboveRate);
    assert.equal(by(other.by.aboveRate), "drop policy", "no source element, off rl's end, back to ingress, its policy");
  });

  it("an unknown port is reported per port range of the map", () => {
    const e = evaluate(RS, pkt("10.1.1.1", 6));
    assert.equal(e.verdict, "depends");
    assert.ok(e.verdict === "depends");
    assert.deepEqual(
      e.cases.map((c) => [c.values.map((v) => `${v.lo}-${v.hi}`).join(","), c.decision.verdict]),
      [
        ["0-21,23-79,91-65535", "drop"],
        ["22-22", "accept"],
        ["80-90", "accept"],
      ],
    );
    assert.match(evaluationText(e, pkt("10.1.1.1", 6)).join("\n"), /chain ingress → r0 \(input hook\): accept by rule 0, NetworkRuleConfig\/a/);
  });

  it("jumps to a chain the ruleset lacks are an error, not a silent pass", () => {
    const bad: Ruleset = { ...RS, regularChains: [] };
    assert.throws(() => evaluate(bad, pkt("10.1.1.1", 6, 22)), /jump to unknown chain/);
  });
});
