// IngressLogConfig decoding: defaults, every field, strictness with positions and messages, at most one
// document, and that the Talos documents decode exactly as without it.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatDiagnostic } from "./diagnostics.js";
import { lintConfig } from "./lint.js";
import { loadConfig } from "./load.js";

const yaml = (...lines: string[]): string => lines.join("\n") + "\n";
const HEAD = ["apiVersion: ingressfw/v1alpha1", "kind: IngressLogConfig"];
const load = (text: string) => loadConfig([{ file: "t.yaml", text }]);
const printed = (text: string) => load(text).diagnostics.map(formatDiagnostic);

describe("IngressLogConfig", () => {
  it("defaults: logging off, 10/minute, burst 5, group 100; absent and null fields take them", () => {
    for (const text of [yaml(...HEAD), yaml(...HEAD, "drops:", "rate: null", "burst: ~", "group:")]) {
      const r = load(text);
      assert.deepEqual(r.diagnostics, []);
      assert.deepEqual(r.config.logging, { drops: false, rate: { count: 10, per: "minute" }, burst: 5, group: 100, pos: { file: "t.yaml", line: 1, col: 1 } });
    }
  });

  it("reads every field", () => {
    const r = load(yaml(...HEAD, "drops: true", "rate: 3/second", "burst: 12", "group: 0"));
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual({ ...r.config.logging!, pos: null }, { drops: true, rate: { count: 3, per: "second" }, burst: 12, group: 0, pos: null });
    assert.deepEqual(load(yaml(...HEAD, "rate: 1/hour")).config.logging?.rate, { count: 1, per: "hour" });
  });

  it("reports bad values at their position, all of them", () => {
    assert.deepEqual(printed(yaml(...HEAD, "drops: yes please", "rate: 10/min", "burst: 0", "group: 70000", "prefix: x")), [
      "t.yaml:3:8: error: IngressLogConfig: expected boolean, got string",
      't.yaml:4:7: error: IngressLogConfig: invalid rate "10/min": expected N/second, N/minute or N/hour (hint: did you mean 10/minute?)',
      "t.yaml:5:8: error: IngressLogConfig: 0 is out of range 1..10000",
      "t.yaml:6:8: error: IngressLogConfig: 70000 is out of range 0..65535",
      't.yaml:7:1: error: IngressLogConfig: unknown field "prefix"',
    ]);
    assert.deepEqual(printed(yaml(...HEAD, "rate: [1]", "burst: 1.5", "group: '7'")), [
      "t.yaml:3:7: error: IngressLogConfig: expected string, got list",
      "t.yaml:4:8: error: IngressLogConfig: expected integer, got float",
      "t.yaml:5:8: error: IngressLogConfig: expected integer, got string",
    ]);
    assert.deepEqual(printed(yaml(...HEAD, "rate: 0/second")), ['t.yaml:3:7: error: IngressLogConfig: invalid rate "0/second": N is out of range 1..10000']);
  });

  it("requires apiVersion ingressfw/v1alpha1 (a Talos apiVersion is wrong here)", () => {
    assert.deepEqual(printed(yaml("apiVersion: v1alpha1", "kind: IngressLogConfig")), [
      't.yaml:1:13: error: IngressLogConfig: unsupported apiVersion "v1alpha1" for kind IngressLogConfig (hint: use ingressfw/v1alpha1)',
    ]);
    assert.deepEqual(printed(yaml("kind: IngressLogConfig")), [
      't.yaml:1:1: error: IngressLogConfig: unsupported apiVersion "" for kind IngressLogConfig (hint: use ingressfw/v1alpha1)',
    ]);
  });

  it("at most one: the second is an error at its kind with a note at the first; duplicate keys are reported", () => {
    assert.deepEqual(printed(yaml(...HEAD, "---", ...HEAD, "drops: true")), [
      "t.yaml:5:7: error: IngressLogConfig: duplicate document ingressfw/v1alpha1/IngressLogConfig is not allowed (line 4)",
      "t.yaml:1:1: note: IngressLogConfig: first defined here",
    ]);
    assert.deepEqual(load(yaml(...HEAD, "---", ...HEAD, "drops: true")).config.logging?.drops, false, "the first one counts");
    assert.deepEqual(printed(yaml(...HEAD, "drops: true", "drops: false")), ['t.yaml:4:1: error: IngressLogConfig: duplicate key "drops"']);
  });

  it("does not change how the Talos documents decode; a misspelt kind is W015", () => {
    const talos = yaml("apiVersion: v1alpha1", "kind: NetworkDefaultActionConfig", "ingress: block");
    const alone = load(talos).config;
    const withLog = load(talos + "---\n" + yaml(...HEAD, "drops: true")).config;
    assert.deepEqual({ ...withLog, logging: null }, alone);
    const typo = load(yaml("apiVersion: ingressfw/v1alpha1", "kind: IngressLogConfg"));
    assert.deepEqual(lintConfig(typo.config, { profile: "talos", verbose: false }).map(formatDiagnostic), [
      "t.yaml:2:7: warning[W015]: unknown kind IngressLogConfg; did you mean IngressLogConfig? (ignored)",
    ]);
  });
});
