// The value grammars of a NetworkRuleConfig, through the loader so positions and document ids are checked
// too: ports (§3.6, every row of the table), protocol (§3.7) and subnet/except prefixes (§3.8).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatDiagnostic } from "./diagnostics.js";
import { loadConfig } from "./load.js";
import type { RuleConfig } from "./model.js";

const HEAD = ["apiVersion: v1alpha1", "kind: NetworkRuleConfig", "name: r"];

function loadRule(...lines: string[]) {
  const r = loadConfig([{ file: "r.yaml", text: [...HEAD, ...lines].join("\n") + "\n" }]);
  return { rule: r.config.rules[0] as RuleConfig, diagnostics: r.diagnostics, printed: r.diagnostics.map(formatDiagnostic) };
}

describe("ports (§3.6)", () => {
  /** One element written on line 7 as `    - <element>`: the element starts at column 7. */
  const port = (element: string) => loadRule("portSelector:", "  protocol: tcp", "  ports:", `    - ${element}`);

  const accepted: [element: string, lo: number, hi: number][] = [
    ["10250", 10250, 10250],
    ["0", 0, 0],
    ["65535", 65535, 65535],
    ["10300-10400", 10300, 10400],
    ['"10300-10400"', 10300, 10400],
    ["'10300-10400'", 10300, 10400],
    ["0-65535", 0, 65535],
    ["1-65535", 1, 65535],
    ["080-090", 80, 90],
    ["80.0", 80, 80],
    ["0x50", 80, 80],
    ["80-80", 80, 80],
    ["00080", 80, 80],
  ];
  for (const [element, lo, hi] of accepted) {
    it(`accepts ${element} as ${lo}-${hi}, keeping the raw text`, () => {
      const r = port(element);
      assert.deepEqual(r.printed, []);
      const p = r.rule.ports[0]!;
      assert.deepEqual([p.lo, p.hi, p.raw, p.pos.line, p.pos.col], [lo, hi, element, 7, 7]);
    });
  }

  it("parses 80-70 and then fails validation without quotes", () => {
    const r = port("80-70");
    assert.deepEqual(r.printed, ["r.yaml:7:7: error: NetworkRuleConfig/r: invalid port range: 80-70"]);
    assert.deepEqual([r.rule.ports[0]!.lo, r.rule.ports[0]!.hi], [80, 70]);
  });

  const rejected: [element: string, raw: string][] = [
    ["70000", "70000"],
    ["-5", "-5"],
    ['"80"', "80"],
    ['" 80-90"', " 80-90"],
    ['"80 - 90"', "80 - 90"],
    ['"80-90 "', "80-90 "],
    ["1-2-3", "1-2-3"],
    ["80-", "80-"],
    ["-80", "-80"],
    ["+80-90", "+80-90"],
    ["80-+90", "80-+90"],
    ["80:90", "80:90"],
    ["http", "http"],
    ["65535-65536", "65535-65536"],
    ["65536", "65536"],
    ["0x10000", "0x10000"],
    ["80.5", "80.5"],
    ["1e9", "1e9"],
    [".inf", ".inf"],
    ['"-"', "-"],
    ["true", "true"],
    ["null", ""],
    ["", ""],
    ['""', ""],
  ];
  for (const [element, raw] of rejected) {
    it(`rejects ${JSON.stringify(element)} as invalid port range: ${JSON.stringify(raw)}`, () => {
      const r = port(element);
      assert.equal(r.diagnostics.length, 1, r.printed.join("\n"));
      const d = r.diagnostics[0]!;
      assert.equal(d.message, `invalid port range: ${JSON.stringify(raw)}`);
      assert.equal(d.docId, "NetworkRuleConfig/r");
      assert.equal(d.path, "portSelector.ports[0]");
      assert.deepEqual([d.pos.line, d.pos.col], [7, 7]);
    });
  }

  it("gives the hints of §9 for a quoted number and a colon range", () => {
    assert.equal(port('"80"').diagnostics[0]!.hint, "write the port unquoted");
    assert.equal(port("80:90").diagnostics[0]!.hint, "ranges use a dash: 80-90");
    assert.equal(port("http").diagnostics[0]!.hint, undefined);
  });

  it("rejects a list or mapping element as a type error", () => {
    assert.deepEqual(port("[80]").printed, ["r.yaml:7:7: error: NetworkRuleConfig/r: expected integer or string, got list"]);
    assert.deepEqual(port("{a: 1}").printed, ["r.yaml:7:7: error: NetworkRuleConfig/r: expected integer or string, got mapping"]);
  });

  it("checks overlap only within a document", () => {
    const doc = (name: string) => [...HEAD.slice(0, 2), `name: ${name}`, "portSelector: {ports: [80-90], protocol: tcp}"].join("\n");
    const r = loadConfig([{ file: "r.yaml", text: `${doc("a")}\n---\n${doc("b")}\n` }]);
    assert.deepEqual(r.diagnostics, []);
  });

  it("keeps the written order in the model (sorting is for validation and set building)", () => {
    const r = loadRule("portSelector: {ports: [443, 80-81, 5000], protocol: tcp}");
    assert.deepEqual(
      r.rule.ports.map((p) => p.lo),
      [443, 80, 5000],
    );
  });
});

describe("protocol (§3.7)", () => {
  const proto = (value: string | null) => loadRule("portSelector:", "  ports: [1]", ...(value === null ? [] : [`  protocol: ${value}`]));

  const accepted: [string, number][] = [
    ["tcp", 6],
    ["udp", 17],
    ["icmp", 1],
    ["icmpv6", 58],
    ["TCP", 6],
    ["Udp", 17],
    ["ICMP", 1],
    ["ICMPv6", 58],
    ["ICMPV6", 58],
    ['"tcp"', 6],
  ];
  for (const [text, number] of accepted) {
    it(`accepts ${text} as ${number}`, () => {
      const r = proto(text);
      assert.deepEqual(r.printed, []);
      assert.equal(r.rule.protocol, number);
      assert.equal(r.rule.protocolSet, true);
    });
  }

  const rejected: [string, string, string?][] = [
    ["esp", "esp"],
    ["ah", "ah"],
    ["sctp", "sctp"],
    ["all", "all"],
    ["ipv6-icmp", "ipv6-icmp", "use icmpv6"],
    ["IPv6-ICMP", "IPv6-ICMP", "use icmpv6"],
    ["6", "6"],
    ["17", "17"],
    ['""', ""],
    ["' tcp'", " tcp"],
  ];
  for (const [text, shown, hint] of rejected) {
    it(`rejects ${text}`, () => {
      const r = proto(text);
      assert.deepEqual(r.printed, [`r.yaml:6:13: error: NetworkRuleConfig/r: ${shown} does not belong to Protocol values${hint ? ` (hint: ${hint})` : ""}`]);
    });
  }

  it("does not check presence: absent and null are protocol 0", () => {
    for (const r of [proto(null), proto("null"), proto("")]) {
      assert.deepEqual(r.printed, []);
      assert.equal(r.rule.protocol, 0);
      assert.equal(r.rule.protocolSet, false);
    }
  });

  it("ICMP still requires ports", () => {
    assert.deepEqual(loadRule("portSelector: {protocol: icmp}").printed, ["r.yaml:4:15: error: NetworkRuleConfig/r: portSelector.ports is required"]);
  });
});

describe("subnet and except (§3.8)", () => {
  /** Entry lines start at line 6; the subnet value at column 13, the except value (line 7) at column 13. */
  const entry = (subnet: string | null, except?: string) =>
    loadRule(
      "portSelector: {ports: [1], protocol: tcp}",
      "ingress:",
      ...(subnet === null ? ["  - except: " + except] : [`  - subnet: ${subnet}`, ...(except === undefined ? [] : [`    except: ${except}`])]),
    );

  const accepted: [text: string, family: 4 | 6, addr: bigint, bits: number][] = [
    ["10.0.0.0/8", 4, 0x0a000000n, 8],
    ["10.0.0.5/8", 4, 0x0a000005n, 8],
    ["0.0.0.0/0", 4, 0n, 0],
    ["255.255.255.255/32", 4, 0xffffffffn, 32],
    ["::/0", 6, 0n, 0],
    ["2001:DB8::/32", 6, 0x20010db8n << 96n, 32],
    ["2001:db8::AbCd/128", 6, (0x20010db8n << 96n) | 0xabcdn, 128],
    ["::ffff:10.0.0.0/104", 6, (0xffffn << 32n) | 0x0a000000n, 104],
    ["ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", 6, (1n << 128n) - 1n, 128],
  ];
  for (const [text, family, addr, bits] of accepted) {
    it(`accepts ${text}, kept as written`, () => {
      const r = entry(text);
      assert.deepEqual(r.printed, []);
      assert.deepEqual(r.rule.ingress[0]!.subnet, { family, addr, bits, text });
    });
  }

  it("rejects leading zeros in IPv4 octets, zones, and bad lengths with Go's message prefix", () => {
    const cases: [string, string][] = [
      ["010.1.2.0/24", `ParseAddr("010.1.2.0"): IPv4 field has octet with leading zero`],
      ["fe80::1%eth0/64", "IPv6 zones cannot be present in a prefix"],
      ["10.0.0.0/33", "prefix length out of range"],
      ["::/129", "prefix length out of range"],
      ["10.0.0.0/08", `bad bits after slash: "08"`],
      ["10.0.0.0/", `bad bits after slash: ""`],
      ["1.2.3/24", `ParseAddr("1.2.3"): invalid IP address`],
      ["::ffff:010.0.0.0/104", `ParseAddr("::ffff:010.0.0.0"): invalid IP address`],
      ["1:2:3:4:5:6:7:8:9/128", `ParseAddr("1:2:3:4:5:6:7:8:9"): invalid IP address`],
    ];
    for (const [text, reason] of cases) {
      assert.deepEqual(entry(text).printed, [`r.yaml:6:13: error: NetworkRuleConfig/r: netip.ParsePrefix(${JSON.stringify(text)}): ${reason}`], text);
    }
  });

  it("a missing slash is exactly `no '/'`, for subnet and except", () => {
    assert.deepEqual(entry("10.0.0.1").printed, [`r.yaml:6:13: error: NetworkRuleConfig/r: netip.ParsePrefix("10.0.0.1"): no '/'`]);
    assert.deepEqual(entry("10.0.0.0/8", "10.0.0.1").printed, [`r.yaml:7:13: error: NetworkRuleConfig/r: netip.ParsePrefix("10.0.0.1"): no '/'`]);
    assert.deepEqual(entry("'2001:db8::1'").printed, [`r.yaml:6:13: error: NetworkRuleConfig/r: netip.ParsePrefix("2001:db8::1"): no '/'`]);
  });

  it("an empty or null subnet is the zero prefix: `invalid subnet: invalid Prefix`", () => {
    assert.deepEqual(entry('""').printed, ["r.yaml:6:13: error: NetworkRuleConfig/r: invalid subnet: invalid Prefix"]);
    assert.deepEqual(entry("null").printed, ["r.yaml:6:13: error: NetworkRuleConfig/r: invalid subnet: invalid Prefix"]);
    assert.deepEqual(entry("").printed, ["r.yaml:6:5: error: NetworkRuleConfig/r: invalid subnet: invalid Prefix"]);
  });

  it("an empty or null except means no except", () => {
    for (const except of ['""', "null", ""]) {
      const r = entry("10.0.0.0/8", except);
      assert.deepEqual(r.printed, [], except);
      assert.equal(r.rule.ingress[0]!.except, null);
    }
  });

  it("an except list is a type error with a hint about another entry", () => {
    const r = entry("10.0.0.0/8", "[10.0.0.1/32, 10.0.0.2/32]");
    assert.deepEqual(
      r.diagnostics.map((d) => [d.pos.line, d.pos.col, d.path, d.message]),
      [[7, 13, "ingress[0].except", "expected string, got list"]],
    );
    assert.match(r.diagnostics[0]!.hint ?? "", /another ingress entry/);
  });

  it("a subnet list is a type error without that hint", () => {
    const r = entry("[10.0.0.0/8]");
    assert.deepEqual(r.printed, ["r.yaml:6:13: error: NetworkRuleConfig/r: expected string, got list"]);
  });

  it("an except need not lie inside its subnet and may be of the other family", () => {
    const r = entry("10.0.0.0/8", "2001:db8::/32");
    assert.deepEqual(r.printed, []);
    assert.equal(r.rule.ingress[0]!.except?.family, 6);
  });

  it("an absent, null or empty ingress list is valid", () => {
    for (const lines of [[], ["ingress:"], ["ingress: []"]]) {
      const r = loadRule("portSelector: {ports: [1], protocol: tcp}", ...lines);
      assert.deepEqual(r.printed, []);
      assert.deepEqual(r.rule.ingress, []);
    }
  });
});
