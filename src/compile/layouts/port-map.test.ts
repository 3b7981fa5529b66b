// The port-map layout's shape: names, maps, the documents' chains, sharing, accept mode, protocol 0,
// drop logging — and, in the kernel, that it loads and lists from both renderers (nft 1.0.6 cannot
// list `meta l4proto 0` followed by a `th dport` map lookup, hence chain p0).
import assert from "node:assert/strict";
import { describe, it, test } from "node:test";
import { formatDiagnostic, hasErrors } from "../../config/diagnostics.js";
import { loadConfig } from "../../config/load.js";
import { parseAddress } from "../../net/address.js";
import { listFresh, loadRuleset, normalizeListing } from "../../../test/support/listing.js";
import { createNetns, inNetns, kernelSkipReason } from "../../../test/support/netns.js";
import { compileRuleset } from "../index.js";
import { renderJson } from "../nft-json.js";
import { ruleText, renderText } from "../nft-text.js";
import type { ProfileName } from "../profiles.js";
import type { Ruleset } from "../ruleset.js";

const BLOCK = "apiVersion: v1alpha1\nkind: NetworkDefaultActionConfig\ningress: block\n---\n";
const ACCEPT = "apiVersion: v1alpha1\nkind: NetworkDefaultActionConfig\ningress: accept\n---\n";

function rule(name: string, ports: string, subnets: readonly string[], protocol: string | null = "tcp"): string {
  const ingress = subnets.length ? subnets.map((s) => `\n  - subnet: ${s}`).join("") : " []";
  return `apiVersion: v1alpha1\nkind: NetworkRuleConfig\nname: ${name}\nportSelector:\n  ports: [${ports}]${protocol ? `\n  protocol: ${protocol}` : ""}\ningress:${ingress}\n`;
}

function portMap(yaml: string, opts: { profile?: ProfileName; node?: boolean } = {}): Ruleset {
  const { config, diagnostics } = loadConfig([{ file: "pm.yaml", text: yaml }]);
  assert.ok(!hasErrors(diagnostics), diagnostics.map(formatDiagnostic).join("\n"));
  const nodeAddresses = opts.node ? [parseAddress("10.3.4.5")!, parseAddress("fd00::5")!] : null;
  return compileRuleset(config, { profile: opts.profile ?? "talos", layout: "port-map", nodeAddresses });
}

const chain = (rs: Ruleset, name: string) => [...rs.chains, ...(rs.regularChains ?? [])].find((c) => c.name === name)!.rules.map(ruleText);
const map = (rs: Ruleset, name: string) => rs.maps!.find((m) => m.name === name)!.elements.map((e) => `${e.lo}-${e.hi}:${e.jump}`);

describe("port-map layout: shape", () => {
  it("block mode: a map per protocol, one chain per document, few sources inline, sets shared by documents with the same sources", () => {
    const rs = portMap(
      BLOCK +
        [
          rule("kubelet", "10250", ["172.20.0.0/24", "172.22.0.0/24", "172.24.0.0/24", "172.26.0.0/24", "172.28.0.0/24"]),
          rule("apid", "50000", ["0.0.0.0/0", "::/0"]),
          rule("trustd", "50001", ["172.20.0.0/24", "172.22.0.0/24", "172.24.0.0/24", "172.26.0.0/24", "172.28.0.0/24"]),
          rule("etcd", "2379-2380", ["172.20.0.2/32", "172.20.0.3/32", "fd00::/8"]),
          rule("vxlan", "4789", ["172.20.0.0/24"], "udp"),
        ].join("---\n"),
      { node: true },
    );
    assert.equal(rs.layout, "port-map");
    assert.deepEqual(
      rs.maps!.map((m) => m.name),
      ["p6_dports", "p17_dports"],
    );
    assert.deepEqual(map(rs, "p6_dports"), ["2379-2380:r3", "10250-10250:r0", "50000-50000:r1", "50001-50001:r2"]);
    assert.deepEqual(map(rs, "p17_dports"), ["4789-4789:r4"]);
    assert.deepEqual(
      rs.sets!.map((s) => `${s.name} ${s.type} ${s.elements.length}`),
      ["c0_v4 ipv4_addr 5"],
    );
    assert.deepEqual(chain(rs, "r0"), ["ip saddr @c0_v4 counter accept"]);
    assert.deepEqual(chain(rs, "r2"), ["ip saddr @c0_v4 counter accept"], "trustd shares kubelet's set");
    assert.deepEqual(chain(rs, "r1"), ["counter accept"], "the whole of both families: a bare accept");
    assert.deepEqual(chain(rs, "r3"), ["ip saddr 172.20.0.2/31 counter accept", "ip6 saddr fd00::/8 counter accept"], "adjacent hosts merge");
    assert.deepEqual(chain(rs, "r4"), ["ip saddr 172.20.0.0/24 counter accept"]);
    // The documents' rules are replaced by the lookups, in both base chains; prerouting guards with ct state new.
    assert.deepEqual(chain(rs, "ingress").slice(-2), ["tcp dport vmap @p6_dports", "udp dport vmap @p17_dports"]);
    assert.deepEqual(chain(rs, "prerouting").slice(-4), [
      "ct state new tcp dport vmap @p6_dports",
      "ct state new udp dport vmap @p17_dports",
      "ct state new meta l4proto tcp counter drop",
      "ct state new meta l4proto udp counter drop",
    ]);
    assert.deepEqual(
      rs.regularChains!.map((c) => c.name),
      ["r0", "r1", "r2", "r3", "r4"],
    );
  });

  it("overlapping documents: the source picks the first document that admits it (union), in o<j>", () => {
    const rs = portMap(BLOCK + [rule("a", "80-90", ["10.0.0.0/8", "fd00::/8"]), rule("b", "85-95", ["10.1.0.0/16", "11.0.0.0/8"])].join("---\n"));
    assert.deepEqual(map(rs, "p6_dports"), ["80-84:r0", "85-90:o0", "91-95:r1"]);
    assert.deepEqual(chain(rs, "o0"), ["ip saddr vmap @o0_v4", "ip6 saddr vmap @o0_v6"]);
    assert.deepEqual(
      rs.maps!.find((m) => m.name === "o0_v4")!.elements.map((e) => e.jump),
      ["r0v", "r1v"],
    );
    assert.deepEqual(chain(rs, "r0v"), ["counter accept"]);
    // b adds nothing a does not already admit on IPv6, so a decides all of fd00::/8 there.
    assert.deepEqual(
      rs.maps!.find((m) => m.name === "o0_v6")!.elements.map((e) => e.jump),
      ["r0v"],
    );
  });

  it("one document deciding all of an overlap gets its own chain; a document admitting nothing gets no element", () => {
    const rs = portMap(BLOCK + [rule("wide", "80", ["10.0.0.0/8"]), rule("narrow", "80", ["10.1.0.0/16"]), rule("none", "443", [])].join("---\n"));
    assert.deepEqual(map(rs, "p6_dports"), ["80-80:r0"]);
    assert.deepEqual(
      rs.regularChains!.map((c) => c.name),
      ["r0"],
    );
  });

  it("accept mode: the document's chain returns for admitted sources and ends in drop; only guarded ports are listed", () => {
    const rs = portMap(
      ACCEPT + [rule("ssh", "22", ["10.0.0.0/8"]), rule("open", "80", ["0.0.0.0/0", "::/0"]), rule("v6all", "443", ["10.0.0.0/8", "::/0"])].join("---\n"),
    );
    assert.deepEqual(map(rs, "p6_dports"), ["22-22:r0", "443-443:r2"]);
    assert.deepEqual(chain(rs, "r0"), ["ip saddr 10.0.0.0/8 return", "counter drop"], "no IPv6 subnet: all IPv6 is dropped (truth table)");
    assert.deepEqual(chain(rs, "r2"), ["ip saddr 10.0.0.0/8 return", "meta nfproto ipv6 return", "counter drop"]);
  });

  it("protocol 0 goes through chain p0 (nft 1.0.6 cannot list `meta l4proto 0` before a th dport lookup); ICMP ports use th dport", () => {
    const rs = portMap(BLOCK + [rule("zero", "9", ["0.0.0.0/0"], null), rule("ping", "5-6", ["0.0.0.0/0", "::/0"], "icmp")].join("---\n"));
    assert.deepEqual(chain(rs, "ingress").slice(-2), ["meta l4proto 0 jump p0", "meta l4proto icmp th dport vmap @p1_dports"]);
    assert.deepEqual(chain(rs, "p0"), ["th dport vmap @p0_dports"]);
    assert.deepEqual(chain(rs, "r0"), ["meta nfproto ipv4 counter accept"]);
  });

  it("drop logging: the log rule goes right before the document's drop, named by the document", () => {
    const log = "apiVersion: ingressfw/v1alpha1\nkind: IngressLogConfig\ndrops: true\n---\n";
    const rs = portMap(log + ACCEPT + rule("ssh", "22", ["10.0.0.0/8"]));
    assert.deepEqual(chain(rs, "r0"), [
      "ip saddr 10.0.0.0/8 return",
      'limit name "drop-log" log prefix "ingressfw drop NetworkRuleConfig/ssh: " group 100',
      "counter drop",
    ]);
    assert.equal(rs.limits?.length, 1);
  });

  it("talos-1.7: no counters, input chain only; no documents: no maps", () => {
    const rs = portMap(BLOCK + rule("ssh", "22", ["10.0.0.0/8"]), { profile: "talos-1.7" });
    assert.deepEqual(chain(rs, "r0"), ["ip saddr 10.0.0.0/8 accept"]);
    assert.deepEqual(
      rs.chains.map((c) => c.name),
      ["ingress"],
    );
    const empty = portMap(BLOCK.replace("---\n", ""));
    assert.deepEqual([empty.maps, empty.sets, empty.regularChains], [[], [], []]);
  });
});

const skip = kernelSkipReason();

describe("port-map layout in the kernel (nft 1.0.6)", { skip }, () => {
  test("`meta l4proto 0` followed by a th dport map lookup loads but cannot be listed; through chain p0 it lists", () => {
    const ns = createNetns("pmv");
    const table = "verify";
    const tx = (rules: unknown[][], chains: string[] = []) =>
      JSON.stringify({
        nftables: [
          { add: { table: { family: "inet", name: table } } },
          { add: { chain: { family: "inet", table, name: "c", type: "filter", hook: "input", prio: 0, policy: "accept" } } },
          ...chains.map((name) => ({ add: { chain: { family: "inet", table, name } } })),
          {
            add: {
              map: {
                family: "inet",
                table,
                name: "m",
                type: "inet_service",
                map: "verdict",
                flags: ["interval"],
                elem: [[{ range: [80, 81] }, { accept: null }]],
              },
            },
          },
          ...rules.map(([chain, ...expr]) => ({ add: { rule: { family: "inet", table, chain, expr } } })),
        ],
      });
    const l4proto0 = { match: { op: "==", left: { meta: { key: "l4proto" } }, right: 0 } };
    const lookup = { vmap: { key: { payload: { protocol: "th", field: "dport" } }, data: "@m" } };
    loadRuleset(ns, tx([["c", l4proto0, lookup]]), "json");
    assert.throws(() => inNetns(ns, "nft", ["list", "ruleset"]), /Assertion `desc->base == expr->payload.base' failed/);
    inNetns(ns, "nft", ["delete", "table", "inet", table]);
    loadRuleset(
      ns,
      tx(
        [
          ["c", l4proto0, { jump: { target: "p0" } }],
          ["p0", lookup],
        ],
        ["p0"],
      ),
      "json",
    );
    assert.match(inNetns(ns, "nft", ["list", "ruleset"]), /meta l4proto ip jump p0\n[\s\S]*chain p0 \{\n\s+th dport vmap @m\n/);
  });

  test("the text and JSON renderings load and list the same (overlaps, protocol 0, ICMP ports, both modes, prerouting)", () => {
    const configs = [
      BLOCK +
        [
          rule("a", "80-90, 443", ["10.0.0.0/8", "fd00::/8"]),
          rule("b", "85-95", ["10.1.0.0/16", "11.0.0.0/8"]),
          rule("z", "9, 100-200", ["0.0.0.0/0"], null),
        ].join("---\n"),
      ACCEPT + [rule("a", "22", ["10.0.0.0/8"]), rule("b", "22-23", ["10.1.0.0/16", "::/0"]), rule("i", "5", ["::/0"], "icmpv6")].join("---\n"),
    ];
    for (const yaml of configs) {
      const rs = portMap(yaml, { node: true });
      const fromText = normalizeListing(listFresh(renderText(rs), "text"));
      assert.equal(normalizeListing(listFresh(JSON.stringify(renderJson(rs)), "json")), fromText);
      assert.match(fromText, /map p6_dports \{/);
    }
  });
});
