// Input handling (§3.1): files, directories (*.yaml/*.yml in lexical order), stdin, document order across
// inputs, empty documents, and YAML syntax errors with positions.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { formatDiagnostic } from "./diagnostics.js";
import { InputError, readSources } from "./input.js";
import { loadConfig } from "./load.js";

const rule = (name: string, port: number) =>
  ["apiVersion: v1alpha1", "kind: NetworkRuleConfig", `name: ${name}`, `portSelector: {ports: [${port}], protocol: tcp}`].join("\n") + "\n";

describe("readSources", () => {
  let dir = "";
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "ingressfw-input-"));
    const conf = join(dir, "conf");
    mkdirSync(conf);
    writeFileSync(join(conf, "b.yaml"), rule("b", 2));
    writeFileSync(join(conf, "a.yml"), rule("a", 1));
    writeFileSync(join(conf, "C.yaml"), rule("C", 3));
    writeFileSync(join(conf, "10.yaml"), rule("ten", 10));
    writeFileSync(join(conf, "9.yaml"), rule("nine", 9));
    writeFileSync(join(conf, "notes.txt"), "not yaml: [");
    writeFileSync(join(conf, "x.yaml.bak"), "not yaml: [");
    writeFileSync(join(conf, "upper.YAML"), "not yaml: [");
    mkdirSync(join(conf, "sub.yaml"));
    writeFileSync(join(conf, "sub.yaml", "inner.yaml"), rule("inner", 4));
    writeFileSync(join(dir, "single.txt"), rule("single", 5));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("reads a directory's *.yaml and *.yml files in lexical order, not recursing", () => {
    const sources = readSources([join(dir, "conf")]);
    assert.deepEqual(
      sources.map((s) => s.file),
      ["10.yaml", "9.yaml", "C.yaml", "a.yml", "b.yaml"].map((n) => join(dir, "conf", n)),
    );
    assert.equal(sources[4]!.text, rule("b", 2));
  });

  it("reads a named file whatever its extension, under the name given", () => {
    const file = join(dir, "single.txt");
    assert.deepEqual(readSources([file]), [{ file, text: rule("single", 5) }]);
  });

  it("reads stdin for `-` as <stdin>, in argument order", () => {
    const file = join(dir, "single.txt");
    let reads = 0;
    const stdin = () => {
      reads++;
      return rule("s", 6);
    };
    const sources = readSources([file, "-"], stdin);
    assert.deepEqual(
      sources.map((s) => s.file),
      [file, "<stdin>"],
    );
    assert.equal(sources[1]!.text, rule("s", 6));
    assert.equal(reads, 1);
  });

  it("a missing input is an InputError naming it", () => {
    const missing = join(dir, "nope.yaml");
    assert.throws(
      () => readSources([missing]),
      (e: unknown) => e instanceof InputError && e.message === `${missing}: no such file or directory`,
    );
  });

  it("documents keep the concatenation order across inputs", () => {
    const r = loadConfig(readSources([join(dir, "single.txt"), join(dir, "conf")]));
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(
      r.config.rules.map((x) => x.name),
      ["single", "ten", "nine", "C", "a", "b"],
    );
    assert.equal(r.config.rules[1]!.pos.file, join(dir, "conf", "10.yaml"));
  });
});

describe("YAML streams (§3.1)", () => {
  it("skips empty documents: a trailing ---, empty and comment-only documents, an empty stream", () => {
    const r = loadConfig([
      { file: "a.yaml", text: "---\n---\n# just a comment\n---\n" + rule("a", 1) + "---\n" },
      { file: "empty.yaml", text: "" },
      { file: "blank.yaml", text: "\n\n" },
      { file: "null.yaml", text: "null\n" },
    ]);
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(
      r.config.rules.map((x) => [x.name, x.pos.line]),
      [["a", 5]],
    );
  });

  it("reads YAML 1.2: yes/no/on/off are strings, 0o and 0x integers", () => {
    const r = loadConfig([{ file: "a.yaml", text: rule("a", 1).replace("ports: [1]", "ports: [0o120, 0x51]").replace("protocol: tcp", "protocol: yes") }]);
    assert.deepEqual(r.diagnostics.map(formatDiagnostic), ["a.yaml:4:48: error: NetworkRuleConfig/a: yes does not belong to Protocol values"]);
    assert.deepEqual(
      r.config.rules[0]!.ports.map((p) => p.lo),
      [80, 81],
    );
  });

  it("resolves aliases", () => {
    const text =
      "apiVersion: v1alpha1\nkind: NetworkRuleConfig\nname: &n a\nportSelector: {ports: [&p 80], protocol: tcp}\ningress:\n  - subnet: &s 10.0.0.0/8\n  - subnet: *s\n";
    const r = loadConfig([{ file: "a.yaml", text }]);
    assert.deepEqual(r.diagnostics, []);
    assert.equal(r.config.rules[0]!.ingress[1]!.subnet?.text, "10.0.0.0/8");
  });

  it("a syntax error stops its stream, is positioned, and other streams are still read", () => {
    const r = loadConfig([
      { file: "bad.yaml", text: rule("before", 1) + "---\nname: [unclosed\nkind: x\n" },
      { file: "good.yaml", text: rule("good", 2) },
    ]);
    assert.ok(r.diagnostics.length >= 1);
    for (const d of r.diagnostics) {
      assert.equal(d.severity, "error");
      assert.equal(d.pos.file, "bad.yaml");
      assert.ok(d.pos.line >= 6 && d.pos.col >= 1, formatDiagnostic(d));
      assert.doesNotMatch(d.message, /\n/);
    }
    assert.deepEqual(
      r.config.rules.map((x) => x.name),
      ["good"],
    );
  });

  it("a syntax error in a later document drops what the stream's earlier documents said, errors included", () => {
    const invalid = "apiVersion: v1alpha1\nkind: NetworkRuleConfig\nname: early\n";
    const r = loadConfig([{ file: "bad.yaml", text: invalid + "---\n" + rule("valid", 1) + "---\nname: [unclosed\n" }]);
    assert.ok(r.diagnostics.length >= 1);
    assert.ok(
      r.diagnostics.every((d) => d.docId === undefined && d.pos.line >= 10),
      r.diagnostics.map(formatDiagnostic).join("\n"),
    );
    assert.deepEqual(r.config.rules, []);
  });

  it("lists every syntax error the parser reports, each at its line", () => {
    const r = loadConfig([{ file: "bad.yaml", text: 'b: [\n---\nc: "unterminated\n' }]);
    assert.deepEqual(
      r.diagnostics.map((d) => [d.pos.file, d.pos.line, d.pos.col, d.severity]),
      [
        ["bad.yaml", 2, 1, "error"],
        ["bad.yaml", 4, 1, "error"],
      ],
    );
  });

  it("CRLF line ends and a byte-order mark do not shift positions", () => {
    const text = "apiVersion: v1alpha1\r\nkind: NetworkRuleConfig\r\nname: a\r\nportSelector:\r\n  ports: [http]\r\n";
    for (const t of [text, "\ufeff" + text]) {
      assert.deepEqual(loadConfig([{ file: "crlf.yaml", text: t }]).diagnostics.map(formatDiagnostic), [
        'crlf.yaml:5:11: error: NetworkRuleConfig/a: invalid port range: "http"',
      ]);
    }
  });

  it("a tab used for indentation is a positioned syntax error", () => {
    const r = loadConfig([{ file: "tab.yaml", text: "apiVersion: v1alpha1\nportSelector:\n\tports: [1]\n" }]);
    assert.equal(r.diagnostics.length > 0, true);
    assert.equal(r.diagnostics[0]!.pos.line, 3);
  });
});
