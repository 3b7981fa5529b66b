import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { Diagnostic } from "./diagnostics.js";
import { lintConfig, type LintOptions } from "./lint.js";
import { editDistance } from "./lints/ignored-kinds.js";
import { loadConfig } from "./load.js";

const FILE = "fw.yaml";

interface Entry {
  readonly subnet: string;
  readonly except?: string;
}

interface RuleFields {
  readonly ports?: string;
  /** null: no `protocol` key. */
  readonly protocol?: string | null;
  /** null: no `ingress` key. */
  readonly ingress?: readonly Entry[] | null;
}

const DUAL_STACK: readonly Entry[] = [{ subnet: "10.0.0.0/8" }, { subnet: "fd00::/8" }];

function rule(name: string, { ports = "[10250]", protocol = "tcp", ingress = DUAL_STACK }: RuleFields = {}): string {
  const lines = ["apiVersion: v1alpha1", "kind: NetworkRuleConfig", `name: ${name}`, "portSelector:", `  ports: ${ports}`];
  if (protocol !== null) lines.push(`  protocol: ${protocol}`);
  if (ingress !== null) {
    lines.push(ingress.length === 0 ? "ingress: []" : "ingress:");
    for (const e of ingress) lines.push(`  - subnet: ${e.subnet}`, ...(e.except ? [`    except: ${e.except}`] : []));
  }
  return lines.join("\n") + "\n";
}

const defaultAction = (action: string) => `apiVersion: v1alpha1\nkind: NetworkDefaultActionConfig\ningress: ${action}\n`;
const BLOCK = defaultAction("block");
const stream = (...docs: string[]) => docs.join("---\n");

function lint(text: string, opts: Partial<LintOptions> = {}): Diagnostic[] {
  const loaded = loadConfig([{ file: FILE, text }]);
  assert.deepEqual(
    loaded.diagnostics.filter((d) => d.severity === "error"),
    [],
  );
  return lintConfig(loaded.config, { profile: "talos", verbose: false, ...opts });
}

const withCode = (diags: readonly Diagnostic[], code: string) => diags.filter((d) => d.code === code);

/** 1-based line and column of the n-th occurrence of `needle` in `text`. */
function locate(text: string, needle: string, nth = 0): { line: number; col: number } {
  let at = -1;
  for (let i = 0; i <= nth; i++) {
    at = text.indexOf(needle, at + 1);
    assert.ok(at >= 0, `${needle} (occurrence ${nth}) not in the test input`);
  }
  const before = text.slice(0, at).split("\n");
  return { line: before.length, col: before[before.length - 1]!.length + 1 };
}

/** Exactly one diagnostic with `code`, with this severity, document, message and position. */
function expectOne(
  diags: readonly Diagnostic[],
  code: string,
  want: { docId?: string; message: string; text: string; at: string; nth?: number; severity?: Diagnostic["severity"] },
): void {
  const found = withCode(diags, code);
  assert.equal(found.length, 1, `${code}: ${JSON.stringify(found.map((d) => d.message))}`);
  const d = found[0]!;
  assert.equal(d.severity, want.severity ?? "warning");
  assert.equal(d.docId, want.docId);
  assert.equal(d.message, want.message);
  assert.deepEqual({ file: d.pos.file, line: d.pos.line, col: d.pos.col }, { file: FILE, ...locate(want.text, want.at, want.nth) });
}

function expectNone(diags: readonly Diagnostic[], code: string): void {
  assert.deepEqual(
    withCode(diags, code).map((d) => d.message),
    [],
  );
}

describe("lintConfig", () => {
  it("reports nothing for a dual-stack rule in accept mode", () => {
    assert.deepEqual(lint(rule("kubelet")), []);
    assert.deepEqual(lint(""), []);
  });

  it("W001: block mode without rules", () => {
    const text = BLOCK;
    expectOne(lint(text), "W001", {
      docId: "NetworkDefaultActionConfig",
      message:
        "default action is block and there are no rules: only lo, siderolink, kubespan, established traffic, rate-limited ICMP (and, with a cluster network config, pod/service traffic) get in; the Talos API (50000/tcp) and kubelet (10250/tcp) become unreachable",
      text,
      at: "block",
    });
    expectNone(lint(stream(BLOCK, rule("kubelet"))), "W001");
  });

  it("W002: protocol missing, reported at the portSelector mapping", () => {
    const message = "protocol is not set: this rule matches layer-4 protocol 0 and has no effect";
    const text = rule("noproto", { protocol: null });
    expectOne(lint(text), "W002", { docId: "NetworkRuleConfig/noproto", message, text, at: "ports:" });
    const nullProto = rule("explicit", { protocol: "null" });
    expectOne(lint(nullProto), "W002", { docId: "NetworkRuleConfig/explicit", message, text: nullProto, at: "null" });
    expectNone(lint(rule("tcp")), "W002");
  });

  it("W003: icmp and icmpv6 ports are checksum bytes", () => {
    const message = "ICMP has no ports: the port list is compared with the ICMP checksum bytes (Talos #14070)";
    for (const protocol of ["icmp", "ICMPv6"]) {
      const text = rule("ping", { protocol });
      expectOne(lint(text), "W003", { docId: "NetworkRuleConfig/ping", message, text, at: protocol });
    }
    expectNone(lint(rule("udp", { protocol: "udp" })), "W003");
  });

  it("W004: accept mode with one family only (both directions)", () => {
    const v4 = rule("v4", { ingress: [{ subnet: "10.0.0.0/8" }] });
    expectOne(lint(v4), "W004", {
      docId: "NetworkRuleConfig/v4",
      message: "no IPv6 subnet: in accept mode this rule drops all IPv6 traffic to these ports; add ::/0 or a narrower IPv6 subnet to allow it",
      text: v4,
      at: "- subnet",
    });
    const v6 = rule("v6", { ingress: [{ subnet: "fd00::/8" }, { subnet: "::ffff:10.0.0.0/104" }] });
    expectOne(lint(v6), "W004", {
      docId: "NetworkRuleConfig/v6",
      message: "no IPv4 subnet: in accept mode this rule drops all IPv4 traffic to these ports; add 0.0.0.0/0 or a narrower IPv4 subnet to allow it",
      text: v6,
      at: "- subnet",
    });
    expectNone(lint(rule("dual")), "W004");
    expectNone(lint(stream(BLOCK, v4)), "W004");
  });

  it("W005: an except outside every subnet, including another family", () => {
    const text = rule("out", {
      ingress: [
        { subnet: "10.0.0.0/8", except: "192.168.0.0/16" },
        { subnet: "fd00::/8", except: "10.0.0.1/32" },
        { subnet: "172.16.0.0/12", except: "fe80::/10" },
      ],
    });
    const diags = lint(text);
    assert.deepEqual(
      withCode(diags, "W005").map((d) => [d.message, d.pos.line, d.pos.col]),
      [
        [
          "except 192.168.0.0/16 lies outside every subnet of this rule and removes nothing",
          locate(text, "192.168.0.0/16").line,
          locate(text, "192.168.0.0/16").col,
        ],
        ["except fe80::/10 lies outside every subnet of this rule and removes nothing", locate(text, "fe80::/10").line, locate(text, "fe80::/10").col],
      ],
    );
    // 10.0.0.1/32 lies inside entry 1's subnet: W006, not W005.
    expectNone(lint(rule("in", { ingress: [{ subnet: "10.0.0.0/8", except: "10.0.0.1/32" }, { subnet: "fd00::/8" }] })), "W005");
  });

  it("W006: an except reaching into another entry's subnet", () => {
    const text = rule("wide", { ingress: [{ subnet: "10.0.0.0/8", except: "10.1.0.0/16" }, { subnet: "10.1.2.0/24" }, { subnet: "fd00::/8" }] });
    expectOne(lint(text), "W006", {
      docId: "NetworkRuleConfig/wide",
      message: "except 10.1.0.0/16 also removes addresses from subnet 10.1.2.0/24 of entry 2: excepts apply to the whole rule",
      text,
      at: "10.1.0.0/16",
    });
    expectNone(lint(rule("own", { ingress: [{ subnet: "10.0.0.0/8", except: "10.1.0.0/16" }, { subnet: "192.168.0.0/16" }, { subnet: "fd00::/8" }] })), "W006");
  });

  it("W007: same protocol and overlapping ports, worded by mode, on the later rule", () => {
    const a = rule("a", { ports: '[80, 443, "1000-2000"]' });
    const b = rule("b", { ports: '["1500-3000", 443]' });
    const text = stream(a, b);
    expectOne(lint(text), "W007", {
      docId: "NetworkRuleConfig/b",
      message: "rules a and b both cover tcp/443-443,1500-2000: in accept mode a source must be allowed by both (intersection)",
      text,
      at: "[",
      nth: 1,
    });
    const blockText = stream(BLOCK, a, b);
    expectOne(lint(blockText), "W007", {
      docId: "NetworkRuleConfig/b",
      message: "rules a and b both cover tcp/443-443,1500-2000: in block mode a source allowed by either gets in (union)",
      text: blockText,
      at: "[",
      nth: 1,
    });
    expectNone(lint(stream(a, rule("udp", { ports: "[443]", protocol: "udp" }))), "W007");
    expectNone(lint(stream(a, rule("other", { ports: "[8080]" }))), "W007");
    expectNone(lint(stream(rule("x", { protocol: null }), rule("y", { protocol: null }))), "W007");
  });

  it("W007: at most three earlier rules named per rule, then one warning that there are more", () => {
    const names = ["a", "b", "c", "d", "e"];
    const text = stream(BLOCK, ...names.map((n) => rule(n, { ports: n === "c" ? '["70-90"]' : "[80]" })));
    const effect = "in block mode a source allowed by either gets in (union)";
    const onE = withCode(lint(text), "W007")
      .filter((d) => d.docId === "NetworkRuleConfig/e")
      .map((d) => d.message);
    assert.deepEqual(onE, [
      `rules a and e both cover tcp/80-80: ${effect}`,
      `rules b and e both cover tcp/80-80: ${effect}`,
      `rules c and e both cover tcp/80-80: ${effect}`,
      `rule e also shares tcp ports with more earlier rules than a, b, c (W007 names 3 per rule): ${effect}`,
    ]);
    // d overlaps exactly three earlier rules: all named, no summary.
    assert.equal(withCode(lint(text), "W007").filter((d) => d.docId === "NetworkRuleConfig/d").length, 3);
  });

  it("W007 over random rules: the same warnings as comparing every pair of rules", () => {
    // Port items [lo, lo + len] of one rule lie in separate slots of ten ports (overlapping items are an error).
    const item = fc.tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 3 }));
    const items = fc.array(item, { minLength: 1, maxLength: 3 }).map((xs) => xs.map(([lo, len], k): [number, number] => [10 * k + lo, len]));
    const ruleArb = fc.record({ protocol: fc.constantFrom("tcp", "udp"), items });
    const effect = "in block mode a source allowed by either gets in (union)";
    fc.assert(
      fc.property(fc.array(ruleArb, { minLength: 2, maxLength: 9 }), (rules) => {
        const ports = rules.map((r) => new Set(r.items.flatMap(([lo, len]) => Array.from({ length: len + 1 }, (_, k) => lo + k))));
        const text = stream(
          BLOCK,
          ...rules.map((r, i) =>
            rule(`r${i}`, { protocol: r.protocol, ports: `[${r.items.map(([lo, len]) => (len === 0 ? `${lo}` : `"${lo}-${lo + len}"`)).join(", ")}]` }),
          ),
        );
        // Every pair, the slow way: shared ports as ranges, the first three earlier rules named, then "more".
        const expected = rules.flatMap((r, i) => {
          const earlier = rules.flatMap((o, j) => (j < i && o.protocol === r.protocol && [...ports[j]!].some((p) => ports[i]!.has(p)) ? [j] : []));
          const pairs = earlier.slice(0, 3).map((j) => {
            const shared = [...ports[j]!].filter((p) => ports[i]!.has(p)).sort((a, b) => a - b);
            const ranges = shared.reduce<[number, number][]>((acc, p) => {
              const last = acc[acc.length - 1];
              if (last && last[1] === p - 1) last[1] = p;
              else acc.push([p, p]);
              return acc;
            }, []);
            return `NetworkRuleConfig/r${i}: rules r${j} and r${i} both cover ${r.protocol}/${ranges.map(([a, b]) => `${a}-${b}`).join(",")}: ${effect}`;
          });
          const names = earlier
            .slice(0, 3)
            .map((j) => `r${j}`)
            .join(", ");
          const more = `NetworkRuleConfig/r${i}: rule r${i} also shares ${r.protocol} ports with more earlier rules than ${names} (W007 names 3 per rule): ${effect}`;
          return earlier.length > 3 ? [...pairs, more] : pairs;
        });
        assert.deepEqual(
          withCode(lint(text), "W007").map((d) => `${d.docId}: ${d.message}`),
          expected,
        );
      }),
      { seed: 20261128, numRuns: 300 },
    );
  });

  it("W007: one warning per earlier rule, in document order, however many of their ranges overlap", () => {
    const text = stream(
      BLOCK,
      rule("a", { ports: "[80]" }),
      rule("b", { ports: '[443, "1000-2000"]' }),
      rule("c", { ports: "[443, 1500]" }),
      rule("d", { ports: '["70-90", "1400-1600"]' }),
    );
    const effect = "in block mode a source allowed by either gets in (union)";
    assert.deepEqual(
      withCode(lint(text), "W007").map((d) => `${d.docId}: ${d.message}`),
      [
        `NetworkRuleConfig/c: rules b and c both cover tcp/443-443,1500-1500: ${effect}`,
        `NetworkRuleConfig/d: rules a and d both cover tcp/80-80: ${effect}`,
        `NetworkRuleConfig/d: rules b and d both cover tcp/1400-1600: ${effect}`,
        `NetworkRuleConfig/d: rules c and d both cover tcp/1500-1500: ${effect}`,
      ],
    );
  });

  it("W008: no ingress subnets, worded by mode", () => {
    const absent = rule("closed", { ingress: null });
    expectOne(lint(absent), "W008", {
      docId: "NetworkRuleConfig/closed",
      message: "no ingress subnets: these ports are closed to every source",
      text: absent,
      at: "apiVersion",
    });
    const empty = stream(BLOCK, rule("nothing", { ingress: [] }));
    expectOne(lint(empty), "W008", {
      docId: "NetworkRuleConfig/nothing",
      message: "no ingress subnets: this rule compiles to nothing and the ports stay closed",
      text: empty,
      at: "[]",
    });
    expectNone(lint(rule("open")), "W008");
  });

  it("W009: subnet or except with host bits set", () => {
    const text = rule("host", { ingress: [{ subnet: "10.0.0.5/8", except: "10.1.0.1/16" }, { subnet: "2001:db8::1/32" }] });
    const diags = withCode(lint(text), "W009");
    assert.deepEqual(
      diags.map((d) => [d.message, d.pos.line, d.pos.col]),
      [
        ["10.0.0.5/8 has host bits set; it is used as 10.0.0.0/8", locate(text, "10.0.0.5/8").line, locate(text, "10.0.0.5/8").col],
        ["10.1.0.1/16 has host bits set; it is used as 10.1.0.0/16", locate(text, "10.1.0.1/16").line, locate(text, "10.1.0.1/16").col],
        ["2001:db8::1/32 has host bits set; it is used as 2001:db8::/32", locate(text, "2001:db8::1/32").line, locate(text, "2001:db8::1/32").col],
      ],
    );
    expectNone(lint(rule("clean")), "W009");
  });

  it("W010: talos-1.7 accept mode with rules", () => {
    const message = "accept mode has no conntrack guard in this profile: replies to connections the host opened can be dropped (Talos #13926, #10536)";
    const noDefault = rule("first");
    expectOne(lint(noDefault, { profile: "talos-1.7" }), "W010", { docId: "NetworkRuleConfig/first", message, text: noDefault, at: "apiVersion" });
    const explicit = stream(defaultAction("accept"), rule("first"));
    expectOne(lint(explicit, { profile: "talos-1.7" }), "W010", { docId: "NetworkDefaultActionConfig", message, text: explicit, at: "accept" });
    expectNone(lint(noDefault), "W010");
    expectNone(lint(stream(BLOCK, rule("first")), { profile: "talos-1.7" }), "W010");
    expectNone(lint(defaultAction("accept"), { profile: "talos-1.7" }), "W010");
  });

  it("W011: zero kernel rules other than W008", () => {
    const all = rule("all", { ingress: [{ subnet: "0.0.0.0/0" }, { subnet: "::/0" }] });
    expectOne(lint(all), "W011", { docId: "NetworkRuleConfig/all", message: "this rule has no effect in accept mode", text: all, at: "- subnet" });
    const excepted = stream(BLOCK, rule("gone", { ingress: [{ subnet: "10.0.0.0/24", except: "10.0.0.0/23" }] }));
    expectOne(lint(excepted), "W011", { docId: "NetworkRuleConfig/gone", message: "this rule has no effect in block mode", text: excepted, at: "- subnet" });
    expectNone(lint(rule("part", { ingress: [{ subnet: "0.0.0.0/0" }, { subnet: "fd00::/8" }] })), "W011");
    expectNone(lint(stream(BLOCK, rule("all", { ingress: [{ subnet: "0.0.0.0/0" }, { subnet: "::/0" }] }))), "W011");
    expectNone(lint(stream(BLOCK, rule("empty", { ingress: [] }))), "W011");
  });

  it("W012: IPv4-mapped IPv6 prefix", () => {
    const text = rule("mapped", { ingress: [{ subnet: "10.0.0.0/8" }, { subnet: "::ffff:10.0.0.0/104" }] });
    expectOne(lint(text), "W012", {
      docId: "NetworkRuleConfig/mapped",
      message: "::ffff:10.0.0.0/104 is IPv6; it never matches IPv4 packets",
      text,
      at: "::ffff:10.0.0.0/104",
    });
    expectNone(lint(rule("plain")), "W012");
  });

  it("W013: port 0 selected, alone or in a range", () => {
    for (const [ports, at] of [
      ["[0]", "0]"],
      ['["0-100"]', '"0-100"'],
    ] as const) {
      const text = rule("zero", { ports });
      expectOne(lint(text), "W013", { docId: "NetworkRuleConfig/zero", message: "port 0 selected", text, at });
    }
    expectNone(lint(rule("one", { ports: '[1, "2-100"]' })), "W013");
  });

  it("W014: host-DNS rule without an IPv6 destination test", () => {
    const main = (pods: string, services: string, forward = true) =>
      [
        "version: v1alpha1",
        "machine:",
        "  features:",
        "    hostDNS:",
        `      forwardKubeDNSToHost: ${forward}`,
        "cluster:",
        "  network:",
        `    podSubnets: ${pods}`,
        `    serviceSubnets: ${services}`,
        "",
      ].join("\n");
    const text = stream(BLOCK, rule("kubelet"), main("[10.244.0.0/16]", "[10.96.0.0/12, fd00:10:96::/112]"));
    expectOne(lint(text), "W014", {
      docId: "v1alpha1",
      message: "host-DNS rule: IPv6 service subnets without an IPv6 pod subnet allow IPv6 port 53 to every address",
      text,
      at: "version",
    });
    expectNone(lint(text, { profile: "talos-1.7" }), "W014");
    expectNone(lint(stream(BLOCK, main("[10.244.0.0/16, fd00:10:244::/56]", "[10.96.0.0/12, fd00:10:96::/112]"))), "W014");
    expectNone(lint(stream(BLOCK, main("[10.244.0.0/16]", "[10.96.0.0/12, fd00:10:96::/112]", false))), "W014");
    expectNone(lint(stream(rule("kubelet"), main("[10.244.0.0/16]", "[10.96.0.0/12, fd00:10:96::/112]"))), "W014");
  });

  it("W015: a kind close to a firewall kind; notes for ignored documents", () => {
    const text = stream("apiVersion: v1alpha1\nkind: NetworkRuleConfg\nname: x\n", "apiVersion: v1alpha1\nkind: networkdefaultactionconfig\n");
    const diags = lint(text);
    assert.deepEqual(
      diags.map((d) => [d.severity, d.code, d.message, d.pos.line, d.pos.col]),
      [
        ["warning", "W015", "unknown kind NetworkRuleConfg; did you mean NetworkRuleConfig? (ignored)", ...Object.values(locate(text, "NetworkRuleConfg"))],
        [
          "warning",
          "W015",
          "unknown kind networkdefaultactionconfig; did you mean NetworkDefaultActionConfig? (ignored)",
          ...Object.values(locate(text, "networkdefault")),
        ],
      ],
    );
    const far = "apiVersion: v1alpha1\nkind: SideroLinkConfig\n";
    assert.deepEqual(lint(far), []);
    const note = { severity: "note", pos: { file: FILE, ...locate(far, "SideroLinkConfig") }, message: "SideroLinkConfig document ignored" };
    assert.deepEqual(lint(far, { verbose: true }), [note]);
    assert.deepEqual(
      lint(text, { verbose: true }).map((d) => [d.code, d.severity]),
      [
        ["W015", "warning"],
        [undefined, "note"],
        ["W015", "warning"],
        [undefined, "note"],
      ],
    );
  });

  it("notes KubeNetworkConfig and ResolverConfig always (§3.11)", () => {
    const text = stream("apiVersion: v1alpha1\nkind: KubeNetworkConfig\n", "apiVersion: v1alpha1\nkind: ResolverConfig\n");
    const diags = lint(text);
    assert.deepEqual(
      diags.map((d) => [d.severity, d.code, d.message, d.pos.line]),
      ["KubeNetworkConfig", "ResolverConfig"].map((kind) => [
        "note",
        undefined,
        `${kind} document ignored: Talos v1.14 takes pod/service subnets and host-DNS settings from it, so the node's ruleset may differ from ingressfw's`,
        locate(text, kind).line,
      ]),
    );
    assert.deepEqual(lint(text, { verbose: true }), diags);
  });

  it("W016: ICMP rate-limit note in block mode", () => {
    const text = stream(BLOCK, rule("kubelet"));
    expectOne(lint(text), "W016", {
      severity: "note",
      docId: "NetworkDefaultActionConfig",
      message: "ICMP and ICMPv6 are rate-limited to 5/s overall; excess, including IPv6 neighbour discovery, is dropped",
      text,
      at: "block",
    });
    expectNone(lint(stream(defaultAction("accept"), rule("kubelet"))), "W016");
  });

  it("W017: no-prerouting note for talos-1.7 when a chain is built", () => {
    const message = "no prerouting chain in this profile: NodePort traffic DNATed by kube-proxy is not filtered";
    const text = stream(BLOCK, rule("kubelet"));
    expectOne(lint(text, { profile: "talos-1.7" }), "W017", { severity: "note", docId: "NetworkDefaultActionConfig", message, text, at: "block" });
    expectNone(lint(text), "W017");
    expectNone(lint(defaultAction("accept"), { profile: "talos-1.7" }), "W017");
  });

  it("W018: ports written in hex, with leading zeros or as a float", () => {
    const text = rule("odd", { ports: '[0x50, 081, 090-095, "0100-0200", 443.0, 1000-1010, "2000-2010", 3000]' });
    assert.deepEqual(
      withCode(lint(text), "W018").map((d) => [d.message, d.pos.col]),
      [
        ["port 0x50 is read as 80", locate(text, "0x50").col],
        ["port 081 is read as 81", locate(text, "081").col],
        ["port 090-095 is read as 90-95", locate(text, "090-095").col],
        ["port 0100-0200 is read as 100-200", locate(text, '"0100-0200"').col],
        ["port 443.0 is read as 443", locate(text, "443.0").col],
      ],
    );
    expectNone(lint(rule("plain", { ports: '[10250, 10300-10400, "50000-50001"]' })), "W018");
  });

  it("orders configuration-wide lints, then ignored documents, then rules by code", () => {
    const text = stream(
      rule("late", { ports: "[0x0]", protocol: null, ingress: [{ subnet: "10.0.0.5/8" }] }),
      "apiVersion: v1alpha1\nkind: NetworkRuleConfigs\n",
      BLOCK,
      rule("second", { ingress: null }),
    );
    assert.deepEqual(
      lint(text, { profile: "talos-1.7" }).map((d) => `${d.code ?? "-"} ${d.docId ?? ""}`),
      [
        "W016 NetworkDefaultActionConfig",
        "W017 NetworkDefaultActionConfig",
        "W015 ",
        "W002 NetworkRuleConfig/late",
        "W009 NetworkRuleConfig/late",
        "W013 NetworkRuleConfig/late",
        "W018 NetworkRuleConfig/late",
        "W008 NetworkRuleConfig/second",
      ],
    );
  });
});

describe("editDistance", () => {
  it("counts insertions, deletions and substitutions", () => {
    assert.equal(editDistance("NetworkRuleConfig", "NetworkRuleConfig"), 0);
    assert.equal(editDistance("NetworkRuleConfg", "NetworkRuleConfig"), 1);
    assert.equal(editDistance("NetworkRuleConfigX", "NetworkRuleConfig"), 1);
    assert.equal(editDistance("NetwerkRuleConfog", "NetworkRuleConfig"), 2);
    assert.equal(editDistance("", "abc"), 3);
    assert.equal(editDistance("kitten", "sitting"), 3);
  });
});
