// Decoding and validation of whole inputs: the gold messages of semantics §8.6, strictness (§3.2), the main
// document (§3.11), error collection (§4.4), duplicates (§4.5) and diagnostic positions (§4.3).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compileRuleset } from "../compile/index.js";
import { renderText } from "../compile/nft-text.js";
import { formatDiagnostic, hasErrors } from "./diagnostics.js";
import { loadConfig, type LoadResult } from "./load.js";

/** YAML text from lines, so that line numbers in expectations can be read off the test. */
const yaml = (...lines: string[]): string => lines.join("\n") + "\n";

function load(text: string, file = "t.yaml"): LoadResult {
  return loadConfig([{ file, text }]);
}

/** Every diagnostic as the CLI prints it: `file:line:col: severity: docId: message (hint: …)`. */
function printed(text: string): string[] {
  return load(text).diagnostics.map(formatDiagnostic);
}

const RULE = ["apiVersion: v1alpha1", "kind: NetworkRuleConfig"];
const DEFAULT_BLOCK = ["apiVersion: v1alpha1", "kind: NetworkDefaultActionConfig", "ingress: block"];

describe("gold validation messages (§8.6)", () => {
  it("V1: an empty name is `name is required`, with the empty name in the document id", () => {
    const r = load(yaml(...RULE, 'name: ""', "portSelector:", "  ports: [80]", "  protocol: tcp"));
    assert.deepEqual(r.diagnostics.map(formatDiagnostic), ["t.yaml:3:7: error: NetworkRuleConfig/: name is required"]);
    assert.equal(r.diagnostics[0]!.docId, "NetworkRuleConfig/");
    assert.equal(r.diagnostics[0]!.path, "name");
  });

  it("V1: an absent name is reported at the document's first key", () => {
    assert.deepEqual(printed(yaml(...RULE, "portSelector:", "  ports: [80]")), ["t.yaml:1:1: error: NetworkRuleConfig/: name is required"]);
  });

  it("V2: no portSelector is `portSelector.ports is required` at the document", () => {
    assert.deepEqual(printed(yaml(...RULE, "name: a")), ["t.yaml:1:1: error: NetworkRuleConfig/a: portSelector.ports is required"]);
  });

  it("V2: a portSelector without ports is reported at the portSelector mapping", () => {
    assert.deepEqual(printed(yaml(...RULE, "name: a", "portSelector:", "  protocol: tcp")), [
      "t.yaml:5:3: error: NetworkRuleConfig/a: portSelector.ports is required",
    ]);
    assert.deepEqual(printed(yaml(...RULE, "name: a", "portSelector:", "  ports: []")), [
      "t.yaml:5:10: error: NetworkRuleConfig/a: portSelector.ports is required",
    ]);
  });

  it("V3: a reversed range is a validation error, printed lo-hi without quotes", () => {
    assert.deepEqual(printed(yaml(...RULE, "name: a", "portSelector:", '  ports: ["8081-8080"]')), [
      "t.yaml:5:11: error: NetworkRuleConfig/a: invalid port range: 8081-8080",
    ]);
  });

  it("V4: overlapping ranges: error at the later range, note at the earlier one", () => {
    assert.deepEqual(printed(yaml(...RULE, "name: a", "portSelector:", "  ports: [1000-2000, 1500-2500]")), [
      "t.yaml:5:22: error: NetworkRuleConfig/a: invalid port range: 1500-2500, overlaps with 1000-2000",
      "t.yaml:5:11: note: NetworkRuleConfig/a: 1000-2000 is here",
    ]);
  });

  it("V5: the same single port twice overlaps, printed as 1000-1000", () => {
    const r = load(yaml(...RULE, "name: a", "portSelector:", "  ports:", "    - 1000", "    - 1000"));
    assert.equal(formatDiagnostic(r.diagnostics[0]!), "t.yaml:7:7: error: NetworkRuleConfig/a: invalid port range: 1000-1000, overlaps with 1000-1000");
    assert.equal(r.diagnostics[0]!.path, "portSelector.ports[1]");
    assert.equal(formatDiagnostic(r.diagnostics[1]!), "t.yaml:6:7: note: NetworkRuleConfig/a: 1000-1000 is here");
    assert.equal(r.diagnostics.length, 2);
  });

  it("V6: ranges are sorted by lo first, so the earlier-written range can be the reported one", () => {
    const r = load(yaml(...RULE, "name: a", "portSelector:", "  ports:", "    - 2000-3000", "    - 1000-2500"));
    assert.equal(formatDiagnostic(r.diagnostics[0]!), "t.yaml:6:7: error: NetworkRuleConfig/a: invalid port range: 2000-3000, overlaps with 1000-2500");
    assert.equal(r.diagnostics[0]!.path, "portSelector.ports[0]");
    assert.equal(formatDiagnostic(r.diagnostics[1]!), "t.yaml:7:7: note: NetworkRuleConfig/a: 1000-2500 is here");
  });

  it("V7: adjacent ranges are valid", () => {
    const r = load(yaml(...RULE, "name: a", "portSelector:", "  ports: [80-81, 82-90]", "  protocol: tcp"));
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(
      r.config.rules[0]!.ports.map((p) => [p.lo, p.hi]),
      [
        [80, 81],
        [82, 90],
      ],
    );
  });

  it("V8: an entry with only an except is `invalid subnet: invalid Prefix` at the entry", () => {
    assert.deepEqual(printed(yaml(...RULE, "name: a", "portSelector:", "  ports: [80]", "ingress: [{except: 10.0.0.1/32}]")), [
      "t.yaml:6:11: error: NetworkRuleConfig/a: invalid subnet: invalid Prefix",
    ]);
  });

  it("V9: a subnet without a slash is Go's `no '/'` message", () => {
    assert.deepEqual(printed(yaml(...RULE, "name: a", "portSelector:", "  ports: [80]", "ingress:", "  - subnet: 10.0.0.1")), [
      `t.yaml:7:13: error: NetworkRuleConfig/a: netip.ParsePrefix("10.0.0.1"): no '/'`,
    ]);
  });

  it("V10: an unknown protocol", () => {
    assert.deepEqual(printed(yaml(...RULE, "name: a", "portSelector:", "  ports: [80]", "  protocol: esp")), [
      "t.yaml:6:13: error: NetworkRuleConfig/a: esp does not belong to Protocol values",
    ]);
  });

  it("V11: an unknown default action, with the hint", () => {
    const r = load(yaml("apiVersion: v1alpha1", "kind: NetworkDefaultActionConfig", "ingress: drop"));
    assert.deepEqual(r.diagnostics.map(formatDiagnostic), [
      "t.yaml:3:10: error: NetworkDefaultActionConfig: drop does not belong to DefaultAction values (hint: did you mean block?)",
    ]);
    assert.equal(r.diagnostics[0]!.message, "drop does not belong to DefaultAction values");
  });

  it("V12: a port above 65535 is a parse error with the raw text quoted", () => {
    assert.deepEqual(
      printed(yaml(...RULE, "name: a", "portSelector:", "  ports: [70000]")),
      ['error: NetworkRuleConfig/a: invalid port range: "70000"'].map((m) => `t.yaml:5:11: ${m}`),
    );
  });

  it("V13: a second NetworkDefaultActionConfig, at its kind, with a note at the first", () => {
    const r = load(yaml(...DEFAULT_BLOCK, "---", "# again", ...DEFAULT_BLOCK));
    assert.deepEqual(r.diagnostics.map(formatDiagnostic), [
      "t.yaml:7:7: error: NetworkDefaultActionConfig: duplicate document v1alpha1/NetworkDefaultActionConfig/ is not allowed (line 6)",
      "t.yaml:1:1: note: NetworkDefaultActionConfig: first defined here",
    ]);
    assert.equal(r.config.defaultAction?.action, "block");
  });

  it("V14: a second rule with the same name, at its name, with a note at the first", () => {
    const doc = [...RULE, "name: a", "portSelector:", "  ports: [80]", "  protocol: tcp"];
    const r = load(yaml(...doc, "---", ...doc));
    assert.deepEqual(r.diagnostics.map(formatDiagnostic), [
      "t.yaml:10:7: error: NetworkRuleConfig/a: duplicate document v1alpha1/NetworkRuleConfig/a is not allowed (line 8)",
      "t.yaml:3:7: note: NetworkRuleConfig/a: first defined here",
    ]);
    assert.equal(r.config.rules.length, 1);
    assert.equal(r.config.rules[0]!.pos.line, 1);
  });

  it("V15: no protocol, port 0 and a subnet with host bits are valid; the subnet is kept as written", () => {
    const r = load(yaml(...RULE, "name: a", "portSelector:", "  ports: [0]", "ingress:", "  - subnet: 10.0.0.5/8"));
    assert.equal(hasErrors(r.diagnostics), false);
    const rule = r.config.rules[0]!;
    assert.equal(rule.protocol, 0);
    assert.equal(rule.protocolSet, false);
    assert.deepEqual([rule.ports[0]!.lo, rule.ports[0]!.hi], [0, 0]);
    assert.equal(rule.ingress[0]!.subnet?.text, "10.0.0.5/8");
    assert.equal(rule.ingress[0]!.subnet?.addr, 0x0a000005n);
    assert.equal(rule.ingress[0]!.subnet?.bits, 8);
  });

  it("V16: V1 + V3 + V8 in one document are all reported, in that order", () => {
    assert.deepEqual(printed(yaml(...RULE, 'name: ""', "portSelector:", '  ports: ["8081-8080"]', "ingress: [{except: 10.0.0.1/32}]")), [
      "t.yaml:3:7: error: NetworkRuleConfig/: name is required",
      "t.yaml:5:11: error: NetworkRuleConfig/: invalid port range: 8081-8080",
      "t.yaml:6:11: error: NetworkRuleConfig/: invalid subnet: invalid Prefix",
    ]);
  });
});

describe("the parse fixture (§3.5, §8.6)", () => {
  const fixture = yaml(
    "apiVersion: v1alpha1",
    "kind: NetworkRuleConfig",
    "name: test",
    "portSelector:",
    "    ports:",
    "        - 53",
    "        - 8000-9000",
    "    protocol: udp",
    "ingress:",
    "    - subnet: 192.168.0.0/16",
    "      except: 192.168.0.3/32",
    "    - subnet: 2001::/16",
  );

  it("decodes to name, ports, protocol and ingress entries with their positions", () => {
    const r = load(fixture);
    assert.deepEqual(r.diagnostics, []);
    const rule = r.config.rules[0]!;
    assert.equal(rule.name, "test");
    assert.deepEqual(
      rule.ports.map((p) => [p.lo, p.hi, p.raw, p.pos.line, p.pos.col]),
      [
        [53, 53, "53", 6, 11],
        [8000, 9000, "8000-9000", 7, 11],
      ],
    );
    assert.equal(rule.protocol, 17);
    assert.equal(rule.protocolSet, true);
    assert.deepEqual(
      rule.ingress.map((e) => [e.subnet?.text, e.except?.text ?? null, e.subnetPos.line, e.exceptPos?.line ?? null]),
      [
        ["192.168.0.0/16", "192.168.0.3/32", 10, 11],
        ["2001::/16", null, 12, null],
      ],
    );
    assert.deepEqual([rule.namePos.line, rule.namePos.col, rule.portsPos.line, rule.protocolPos.line, rule.ingressPos.line], [3, 7, 6, 8, 10]);
  });

  it("compiles in block mode to the derived rules", () => {
    const r = load(yaml(...DEFAULT_BLOCK, "---") + fixture);
    const text = renderText(compileRuleset(r.config, { profile: "talos" }));
    const rules = text.split("\n").map((l) => l.trim().replace(/\s+/g, " "));
    assert.ok(rules.includes("ip saddr { 192.168.0.0-192.168.0.2, 192.168.0.4-192.168.255.255 } udp dport { 53, 8000-9000 } counter accept"), text);
    assert.ok(rules.includes("ip6 saddr { 2001::/16 } udp dport { 53, 8000-9000 } counter accept"), text);
  });
});

describe("document identity and strictness (§3.2)", () => {
  it("rejects unknown fields at every depth of a rule, at the key", () => {
    const r = load(
      yaml(...RULE, "name: a", "x: 1", "portSelector:", "  ports: [1]", "  protocol: tcp", "  y: 2", "ingress:", "  - subnet: 10.0.0.0/8", "    z: 3"),
    );
    assert.deepEqual(r.diagnostics.map(formatDiagnostic), [
      't.yaml:4:1: error: NetworkRuleConfig/a: unknown field "x"',
      't.yaml:8:3: error: NetworkRuleConfig/a: unknown field "y"',
      't.yaml:11:5: error: NetworkRuleConfig/a: unknown field "z"',
    ]);
    assert.deepEqual(
      r.diagnostics.map((d) => d.path),
      ["x", "portSelector.y", "ingress[0].z"],
    );
  });

  it("rejects unknown fields in the default-action document", () => {
    assert.deepEqual(printed(yaml(...DEFAULT_BLOCK, "egress: block")), ['t.yaml:4:1: error: NetworkDefaultActionConfig: unknown field "egress"']);
  });

  it("reports type mismatches at the offending node", () => {
    const r = load(yaml(...RULE, "name: {a: b}", "portSelector:", "  ports: 80", "  protocol: [tcp]", "ingress:", "  - 10.0.0.0/8", "  - subnet: {a: 1}"));
    assert.deepEqual(r.diagnostics.map(formatDiagnostic), [
      "t.yaml:3:7: error: NetworkRuleConfig/: expected string, got mapping",
      "t.yaml:5:10: error: NetworkRuleConfig/: expected list, got integer",
      "t.yaml:6:13: error: NetworkRuleConfig/: expected string, got list",
      "t.yaml:8:5: error: NetworkRuleConfig/: expected mapping, got string",
      "t.yaml:9:13: error: NetworkRuleConfig/: expected string, got mapping",
    ]);
  });

  it("reports a list where the portSelector mapping belongs, and a mapping where the ingress list belongs", () => {
    assert.deepEqual(printed(yaml(...RULE, "name: a", "portSelector: [80]", "ingress: {subnet: 10.0.0.0/8}")), [
      "t.yaml:4:15: error: NetworkRuleConfig/a: expected mapping, got list",
      "t.yaml:5:10: error: NetworkRuleConfig/a: expected list, got mapping",
    ]);
  });

  it("requires apiVersion v1alpha1 for both firewall kinds (absent counts as empty)", () => {
    assert.deepEqual(printed(yaml("apiVersion: v1alpha2", "kind: NetworkRuleConfig", "name: a", "portSelector: {ports: [1]}")), [
      't.yaml:1:13: error: NetworkRuleConfig/a: unsupported apiVersion "v1alpha2" for kind NetworkRuleConfig',
    ]);
    assert.deepEqual(printed(yaml("kind: NetworkRuleConfig", "name: a", "portSelector: {ports: [1]}")), [
      't.yaml:1:1: error: NetworkRuleConfig/a: unsupported apiVersion "" for kind NetworkRuleConfig',
    ]);
    assert.deepEqual(printed(yaml("apiVersion: 1", "kind: NetworkDefaultActionConfig")), [
      't.yaml:1:13: error: NetworkDefaultActionConfig: unsupported apiVersion "1" for kind NetworkDefaultActionConfig',
    ]);
    assert.deepEqual(printed(yaml("kind: NetworkDefaultActionConfig", "ingress: block")), [
      't.yaml:1:1: error: NetworkDefaultActionConfig: unsupported apiVersion "" for kind NetworkDefaultActionConfig',
    ]);
  });

  it("a document with neither kind nor version is `missing kind`; an empty kind counts as none", () => {
    assert.deepEqual(printed(yaml("", "name: a", "portSelector: {ports: [1]}")), ["t.yaml:2:1: error: missing kind"]);
    assert.deepEqual(printed(yaml('kind: ""', "name: a")), ["t.yaml:1:1: error: missing kind"]);
    assert.deepEqual(printed(yaml("kind: [NetworkRuleConfig]")), ["t.yaml:1:7: error: expected string, got list"]);
  });

  it("a document that is not a mapping is a type error at its start", () => {
    assert.deepEqual(printed(yaml("- a", "- b", "---", "just text")), [
      "t.yaml:1:1: error: expected mapping, got list",
      "t.yaml:4:1: error: expected mapping, got string",
    ]);
  });

  it("reports a duplicate key once, at the repeated key, and keeps the first value", () => {
    const r = load(
      yaml(...RULE, "name: a", "name: b", "portSelector:", "  ports: [1]", "  ports: [2]", "ingress:", "  - subnet: 10.0.0.0/8", "    subnet: 10.0.0.0/9"),
    );
    assert.deepEqual(r.diagnostics.map(formatDiagnostic), [
      't.yaml:4:1: error: NetworkRuleConfig/a: duplicate key "name"',
      't.yaml:7:3: error: NetworkRuleConfig/a: duplicate key "ports"',
      't.yaml:10:5: error: NetworkRuleConfig/a: duplicate key "subnet"',
    ]);
    assert.equal(r.config.rules[0]!.name, "a");
    assert.equal(r.config.rules[0]!.ports[0]!.lo, 1);
    assert.equal(r.config.rules[0]!.ingress[0]!.subnet?.bits, 8);
  });

  it("reports a duplicate key in the default-action document once", () => {
    const r = load(yaml(...DEFAULT_BLOCK, "ingress: accept"));
    assert.deepEqual(r.diagnostics.map(formatDiagnostic), ['t.yaml:4:1: error: NetworkDefaultActionConfig: duplicate key "ingress"']);
    assert.equal(r.config.defaultAction?.action, "block");
  });

  it("ignores other kinds, recording their kind and position", () => {
    const r = load(yaml("apiVersion: v1alpha1", "kind: KubeNetworkConfig", "anything: [goes]"));
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(r.config.ignored, [{ kind: "KubeNetworkConfig", pos: { file: "t.yaml", line: 2, col: 7 } }]);
  });
});

describe("the default action (§3.3)", () => {
  const action = (value: string | null) => {
    const r = load(yaml("apiVersion: v1alpha1", "kind: NetworkDefaultActionConfig", ...(value === null ? [] : [`ingress: ${value}`])));
    return { action: r.config.defaultAction?.action, diags: r.diagnostics.map((d) => d.message) };
  };

  it("matches case-insensitively", () => {
    for (const v of ["block", "Block", "BLOCK"]) assert.deepEqual(action(v), { action: "block", diags: [] }, v);
    for (const v of ["accept", "ACCEPT", "Accept"]) assert.deepEqual(action(v), { action: "accept", diags: [] }, v);
  });

  it("absent or null means accept", () => {
    assert.deepEqual(action(null), { action: "accept", diags: [] });
    assert.deepEqual(action("null"), { action: "accept", diags: [] });
    assert.deepEqual(action(""), { action: "accept", diags: [] });
  });

  it("rejects other values through their text", () => {
    assert.deepEqual(action("1").diags, ["1 does not belong to DefaultAction values"]);
    assert.deepEqual(action("true").diags, ["true does not belong to DefaultAction values"]);
    assert.deepEqual(action('""').diags, [" does not belong to DefaultAction values"]);
    assert.deepEqual(action("[block]").diags, ["expected string, got list"]);
  });
});

describe("diagnostic text", () => {
  it("keeps Talos's message byte for byte in the model but prints one line per diagnostic", () => {
    const r = load(yaml("apiVersion: v1alpha1", "kind: NetworkDefaultActionConfig", 'ingress: "drop\\nnow\\u0007"'));
    assert.equal(r.diagnostics[0]!.message, "drop\nnow\u0007 does not belong to DefaultAction values");
    assert.equal(
      formatDiagnostic(r.diagnostics[0]!),
      "t.yaml:3:10: error: NetworkDefaultActionConfig: drop\\nnow\\u0007 does not belong to DefaultAction values",
    );
  });

  it("escapes a multi-line name in the document id", () => {
    const r = load(yaml(...RULE, "name: |", "  a", "  b", "portSelector: {ports: [x]}"));
    assert.deepEqual(r.diagnostics.map(formatDiagnostic), ['t.yaml:6:24: error: NetworkRuleConfig/a\\nb\\n: invalid port range: "x"']);
  });
});

describe("the v1alpha1 main document (§3.11)", () => {
  const main = (...lines: string[]) => load(yaml("version: v1alpha1", ...lines));
  const texts = (ps: readonly { text: string }[]) => ps.map((p) => p.text);

  it("defaults: pod 10.244.0.0/16, service 10.96.0.0/12, no host DNS, no cluster network", () => {
    const r = main("machine:", "  type: controlplane");
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(texts(r.config.main!.podSubnets), ["10.244.0.0/16"]);
    assert.deepEqual(texts(r.config.main!.serviceSubnets), ["10.96.0.0/12"]);
    assert.equal(r.config.main!.forwardKubeDNSToHost, false);
    assert.equal(r.config.main!.hasClusterNetwork, false);
  });

  it("reads the subnets and host DNS flag; IPv6 defaults are never added; empty lists take the defaults", () => {
    const r = main(
      "machine:",
      "  features:",
      "    hostDNS:",
      "      forwardKubeDNSToHost: true",
      "cluster:",
      "  network:",
      "    podSubnets: [10.244.0.0/16, fd00:10:244::/56]",
      "    serviceSubnets: []",
    );
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(texts(r.config.main!.podSubnets), ["10.244.0.0/16", "fd00:10:244::/56"]);
    assert.deepEqual(texts(r.config.main!.serviceSubnets), ["10.96.0.0/12"]);
    assert.equal(r.config.main!.forwardKubeDNSToHost, true);
    assert.equal(r.config.main!.hasClusterNetwork, true);
  });

  it("a cluster.network key makes a cluster network config even when empty or null", () => {
    assert.equal(main("cluster:", "  network: {}").config.main!.hasClusterNetwork, true);
    assert.equal(main("cluster:", "  network:").config.main!.hasClusterNetwork, true);
    assert.equal(main("cluster:", "  clusterName: x").config.main!.hasClusterNetwork, false);
  });

  it("is not strict: unknown keys and odd shapes elsewhere are ignored", () => {
    const r = main("cluster: 5", "machine: [1, 2]", "whatever: {x: y}", "whatever2: 1");
    assert.deepEqual(r.diagnostics, []);
  });

  it("reports malformed values at their path", () => {
    const r = main(
      "cluster:",
      "  network:",
      '    podSubnets: [10.244.0.0, "fd00::/129"]',
      "    serviceSubnets: 10.96.0.0/12",
      "machine:",
      "  features:",
      "    hostDNS:",
      '      forwardKubeDNSToHost: "yes"',
    );
    assert.deepEqual(r.diagnostics.map(formatDiagnostic), [
      `t.yaml:4:18: error: v1alpha1: netip.ParsePrefix("10.244.0.0"): no '/'`,
      `t.yaml:4:30: error: v1alpha1: netip.ParsePrefix("fd00::/129"): prefix length out of range`,
      "t.yaml:5:21: error: v1alpha1: expected list, got string",
      "t.yaml:9:29: error: v1alpha1: expected boolean, got string",
    ]);
    assert.deepEqual(
      r.diagnostics.map((d) => d.path),
      ["cluster.network.podSubnets[0]", "cluster.network.podSubnets[1]", "cluster.network.serviceSubnets", "machine.features.hostDNS.forwardKubeDNSToHost"],
    );
  });

  it("at most one main document; another version is an error", () => {
    assert.deepEqual(printed(yaml("version: v1alpha1", "---", "version: v1alpha1", "---", "version: v1alpha2")), [
      "t.yaml:3:1: error: duplicate v1alpha1 main document",
      "t.yaml:1:1: note: first defined here",
      't.yaml:5:10: error: unsupported main document version "v1alpha2"',
    ]);
  });
});

describe("error collection and suppression (§4.4)", () => {
  it("a document whose only port failed to parse is not also missing its ports", () => {
    assert.deepEqual(printed(yaml(...RULE, "name: a", "portSelector:", "  ports: [http]")), [
      't.yaml:5:11: error: NetworkRuleConfig/a: invalid port range: "http"',
    ]);
  });

  it("a portSelector of the wrong type does not also report missing ports", () => {
    assert.deepEqual(printed(yaml(...RULE, "name: a", "portSelector: 80")), ["t.yaml:4:15: error: NetworkRuleConfig/a: expected mapping, got integer"]);
  });

  it("a name of the wrong type does not also report `name is required`", () => {
    assert.deepEqual(printed(yaml(...RULE, "name: [a]", "portSelector: {ports: [1]}")), ["t.yaml:3:7: error: NetworkRuleConfig/: expected string, got list"]);
  });

  it("a subnet that failed to parse is not also the zero prefix; an empty entry is", () => {
    assert.deepEqual(printed(yaml(...RULE, "name: a", "portSelector: {ports: [1]}", "ingress:", "  - subnet: 1.2.3/8", "  -", "  - subnet:")), [
      `t.yaml:6:13: error: NetworkRuleConfig/a: netip.ParsePrefix("1.2.3/8"): ParseAddr("1.2.3"): invalid IP address`,
      "t.yaml:7:4: error: NetworkRuleConfig/a: invalid subnet: invalid Prefix",
      "t.yaml:8:5: error: NetworkRuleConfig/a: invalid subnet: invalid Prefix",
    ]);
  });

  it("decode errors come before validation errors; all bad ranges and entries are reported", () => {
    const r = load(
      yaml(
        ...RULE,
        "name: a",
        "portSelector:",
        "  ports: [1-10, 5-2, 9-6, x]",
        "  protocol: sctp",
        "ingress:",
        "  - except: 10.0.0.0/8",
        "  - subnet: ::/0",
        "  - {}",
      ),
    );
    assert.deepEqual(r.diagnostics.map(formatDiagnostic), [
      't.yaml:5:27: error: NetworkRuleConfig/a: invalid port range: "x"',
      "t.yaml:6:13: error: NetworkRuleConfig/a: sctp does not belong to Protocol values",
      "t.yaml:5:17: error: NetworkRuleConfig/a: invalid port range: 5-2",
      "t.yaml:5:17: error: NetworkRuleConfig/a: invalid port range: 5-2, overlaps with 1-10",
      "t.yaml:5:11: note: NetworkRuleConfig/a: 1-10 is here",
      "t.yaml:5:22: error: NetworkRuleConfig/a: invalid port range: 9-6",
      "t.yaml:8:5: error: NetworkRuleConfig/a: invalid subnet: invalid Prefix",
      "t.yaml:10:5: error: NetworkRuleConfig/a: invalid subnet: invalid Prefix",
    ]);
  });

  it("documents are reported in document order, each with its own id", () => {
    const r = load(yaml(...RULE, "name: b", "---", ...DEFAULT_BLOCK.slice(0, 2), "ingress: nope", "---", ...RULE, "name: a"));
    assert.deepEqual(r.diagnostics.map(formatDiagnostic), [
      "t.yaml:1:1: error: NetworkRuleConfig/b: portSelector.ports is required",
      "t.yaml:7:10: error: NetworkDefaultActionConfig: nope does not belong to DefaultAction values",
      "t.yaml:9:1: error: NetworkRuleConfig/a: portSelector.ports is required",
    ]);
    assert.deepEqual(
      r.config.rules.map((x) => x.name),
      ["b", "a"],
    );
  });
});

describe("duplicate documents (§4.5)", () => {
  const rule = (name: string) => [...RULE, `name: ${name}`, "portSelector: {ports: [1], protocol: tcp}"];

  it("two nameless rules: the duplicate error for the second, `name is required` for each", () => {
    assert.deepEqual(printed(yaml(...RULE, "portSelector: {ports: [1]}", "---", ...RULE, "portSelector: {ports: [1]}")), [
      "t.yaml:1:1: error: NetworkRuleConfig/: name is required",
      "t.yaml:5:1: error: NetworkRuleConfig/: duplicate document v1alpha1/NetworkRuleConfig/ is not allowed (line 5)",
      "t.yaml:1:1: note: NetworkRuleConfig/: first defined here",
      "t.yaml:5:1: error: NetworkRuleConfig/: name is required",
    ]);
  });

  it("names are unique among rules only; other kinds may share a name", () => {
    const r = load(yaml(...rule("a"), "---", "apiVersion: v1alpha1", "kind: Other", "name: a", "---", ...rule("b")));
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(
      r.config.rules.map((x) => x.name),
      ["a", "b"],
    );
  });

  it("a duplicate in a later file points into that file, the note into the first", () => {
    const r = loadConfig([
      { file: "one.yaml", text: yaml(...rule("a")) },
      { file: "two.yaml", text: yaml("# x", "---", ...rule("c"), "---", ...rule("a")) },
    ]);
    assert.deepEqual(r.diagnostics.map(formatDiagnostic), [
      "two.yaml:10:7: error: NetworkRuleConfig/a: duplicate document v1alpha1/NetworkRuleConfig/a is not allowed (line 8)",
      "one.yaml:3:7: note: NetworkRuleConfig/a: first defined here",
    ]);
    assert.deepEqual(
      r.config.rules.map((x) => x.name),
      ["a", "c"],
    );
  });

  it("the duplicate's own errors are still reported after the duplicate error", () => {
    assert.deepEqual(printed(yaml(...rule("a"), "---", ...RULE, "name: a", "portSelector: {ports: [2-1]}")), [
      "t.yaml:8:7: error: NetworkRuleConfig/a: duplicate document v1alpha1/NetworkRuleConfig/a is not allowed (line 6)",
      "t.yaml:3:7: note: NetworkRuleConfig/a: first defined here",
      "t.yaml:9:24: error: NetworkRuleConfig/a: invalid port range: 2-1",
    ]);
  });
});
