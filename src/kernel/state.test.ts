import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { loadConfig } from "../config/load.js";
import { compileRuleset } from "../compile/index.js";
import { parseAddress } from "../net/address.js";
import { concatenateSources, defaultStateDir, newState, readState, removeState, StateError, writeState } from "./state.js";

const dir = mkdtempSync(join(tmpdir(), "ingressfw-state-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const sources = [
  { file: "a.yaml", text: "apiVersion: v1alpha1\nkind: NetworkDefaultActionConfig\ningress: block" },
  {
    file: "b.yaml",
    text: "apiVersion: v1alpha1\nkind: NetworkRuleConfig\nname: r\nportSelector: {ports: [1], protocol: tcp}\ningress: [{subnet: 10.0.0.0/8}]\n",
  },
];

function sample() {
  const { config } = loadConfig(sources);
  const nodeAddresses = [parseAddress("10.0.0.1")!];
  const ruleset = compileRuleset(config, { nodeAddresses });
  return newState({ target: { netns: "lab" }, sources, ruleset, nodeAddresses, nodeAddressSource: "given", appliedAt: new Date("2025-01-02T03:04:05Z") });
}

describe("state", () => {
  it("lives under /var/lib/ingressfw/<netns or host>", () => {
    assert.equal(defaultStateDir({}), "/var/lib/ingressfw/host");
    assert.equal(defaultStateDir({ netns: "lab" }), "/var/lib/ingressfw/lab");
  });

  it("concatenates the sources as one stream that loads to the same documents", () => {
    const text = concatenateSources(sources);
    assert.equal(text, `${sources[0]!.text}\n---\n${sources[1]!.text}`);
    const again = loadConfig([{ file: "state", text }]);
    assert.equal(again.config.rules.length, 1);
    assert.equal(again.config.defaultAction?.action, "block");
  });

  it("round-trips through an atomic write, leaving no temporary file", () => {
    const sub = join(dir, "nested", "lab");
    const state = sample();
    const file = writeState(sub, state);
    assert.equal(file, join(sub, "state.json"));
    assert.deepEqual(readdirSync(sub), ["state.json"]);
    assert.deepEqual(readState(sub), state);
    assert.equal(state.ruleset.chains[0]!.rules.at(-1)!.origin, "NetworkRuleConfig/r");
    assert.deepEqual(state.options.nodeAddresses, ["10.0.0.1"]);
    const again = { ...state, appliedAt: "2025-02-02T00:00:00.000Z" };
    writeState(sub, again);
    assert.equal(readState(sub)?.appliedAt, again.appliedAt);
  });

  it("is null when absent and a StateError when invalid", () => {
    const sub = join(dir, "bad");
    assert.equal(readState(sub), null);
    writeState(sub, sample());
    const file = join(sub, "state.json");
    writeFileSync(file, readFileSync(file, "utf8").replace('"profile": "talos"', '"profile": "talos-2"'));
    assert.throws(
      () => readState(sub),
      (e: unknown) => e instanceof StateError && e.kind === "invalid" && /options\.profile/.test(e.message),
    );
    writeFileSync(file, "{");
    assert.throws(
      () => readState(sub),
      (e: unknown) => e instanceof StateError && e.kind === "invalid" && /not JSON/.test(e.message),
    );
  });

  it("removeState says whether there was one", () => {
    const sub = join(dir, "rm");
    writeState(sub, sample());
    assert.equal(removeState(sub), true);
    assert.equal(removeState(sub), false);
  });
});
