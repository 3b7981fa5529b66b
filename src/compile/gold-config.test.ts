// Gold cases that start from documents: chain presence G1–G8 (§8.1, §8.9), the controller cases
// (§8.2: IR and listings), the documented v1.7 listings (§8.3, also through the real CLI), the parse
// fixture's compiled lines (§8.6) and the live v1.10 rule (§8.8). Every listing is also checked in the
// kernel: gold text, rendered text and rendered JSON, each loaded into a fresh namespace, list the same.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { formatAddress, parseAddress, type Address, type Prefix } from "../net/address.js";
import { loadConfig } from "../config/load.js";
import type { FirewallConfig } from "../config/model.js";
import { assertKernelMatchesGold, collapseWhitespace, listFresh, normalizeListing } from "../../test/support/listing.js";
import { kernelSkipReason } from "../../test/support/netns.js";
import { buildIr } from "./build-ir.js";
import { compileRuleset } from "./index.js";
import type { AddrMatch, IrChain, IrRule } from "./ir.js";
import { renderText } from "./nft-text.js";
import { PROFILES, type ProfileName } from "./profiles.js";
import type { Ruleset } from "./ruleset.js";

const skip = kernelSkipReason();
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const gold = (name: string) => readFileSync(`${ROOT}test/gold/${name}`, "utf8");

function configOf(yaml: string): FirewallConfig {
  const { config, diagnostics } = loadConfig([{ file: "gold.yaml", text: yaml }]);
  assert.deepEqual(
    diagnostics.filter((d) => d.severity === "error").map((d) => d.message),
    [],
  );
  return config;
}

interface Case {
  readonly yaml: string;
  readonly profile?: ProfileName;
  readonly nodeAddresses?: readonly Address[] | null;
}

const compile = (c: Case): Ruleset => compileRuleset(configOf(c.yaml), { profile: c.profile ?? "talos", nodeAddresses: c.nodeAddresses ?? null });

/** A `table inet talos` listing with the given chains (header line, then rules). */
function table(...chains: readonly { name: string; header: string; rules: readonly string[] }[]): string {
  const body = chains.flatMap((c) => [`  chain ${c.name} {`, `    ${c.header}`, ...c.rules.map((r) => `    ${r}`), "  }"]);
  return ["table inet talos {", ...body, "}"].join("\n") + "\n";
}
const ingress = (policy: "accept" | "drop", rules: readonly string[], priority = "mangle + 10") => ({
  name: "ingress",
  header: `type filter hook input priority ${priority}; policy ${policy};`,
  rules,
});
const prerouting = (rules: readonly string[]) => ({ name: "prerouting", header: "type filter hook prerouting priority dstnat - 10; policy accept;", rules });

/** Offline: the rendered listing equals the gold listing after §1.5 normalisation. */
function assertListing(rs: Ruleset, goldText: string): void {
  assert.equal(normalizeListing(renderText(rs)), normalizeListing(goldText));
}

const TRUSTED = 'iifname { "lo", "siderolink", "kubespan" } counter accept';
const CT = ["ct state { established, related } counter accept", "ct state invalid counter drop"];
const BLOCK_PREAMBLE = [
  TRUSTED,
  ...CT,
  "icmp type { timestamp-request, timestamp-reply, address-mask-request, address-mask-reply } counter drop",
  "meta l4proto icmp limit rate 5/second burst 5 packets counter accept",
  "meta l4proto ipv6-icmp limit rate 5/second burst 5 packets counter accept",
];
const BLOCK = "apiVersion: v1alpha1\nkind: NetworkDefaultActionConfig\ningress: block\n";
const POD_SERVICE = "ip saddr { 10.96.0.0/12, 10.244.0.0/16 } ip daddr { 10.96.0.0/12, 10.244.0.0/16 } counter accept";
const HOST_DNS_MAIN = "version: v1alpha1\nmachine:\n  features:\n    hostDNS:\n      forwardKubeDNSToHost: true\ncluster:\n  network: {}\n";
const KUBELET_172 = `apiVersion: v1alpha1
kind: NetworkRuleConfig
name: kubelet-ingress
portSelector: {ports: [10250], protocol: tcp}
ingress:
  - subnet: 172.20.0.0/24
`;

interface ListingCase extends Case {
  readonly name: string;
  readonly listing: string;
}

const LISTING_CASES: readonly ListingCase[] = [
  { name: "G1 no documents → no chains, the table stays (empty)", yaml: "", listing: "table inet talos {\n}\n" },
  {
    name: "G2 only ingress: accept → no chains",
    yaml: "apiVersion: v1alpha1\nkind: NetworkDefaultActionConfig\ningress: accept\n",
    listing: "table inet talos {\n}\n",
  },
  { name: "G3 only ingress: block (talos) → the six block-mode preamble rules", yaml: BLOCK, listing: table(ingress("drop", BLOCK_PREAMBLE)) },
  {
    name: "G4 G3 + main document with cluster.network: {} → the pod/service rule with default subnets",
    yaml: `${BLOCK}---\nversion: v1alpha1\ncluster:\n  network: {}\n`,
    listing: table(ingress("drop", [...BLOCK_PREAMBLE, POD_SERVICE])),
  },
  {
    name: "G5 block + forwardKubeDNSToHost → host-DNS udp, tcp, then pod/service",
    yaml: `${BLOCK}---\n${HOST_DNS_MAIN}`,
    listing: table(
      ingress("drop", [
        ...BLOCK_PREAMBLE,
        "ip saddr { 10.96.0.0/12, 10.244.0.0/16 } ip daddr { 169.254.116.108 } udp dport { 53 } counter accept",
        "ip saddr { 10.96.0.0/12, 10.244.0.0/16 } ip daddr { 169.254.116.108 } tcp dport { 53 } counter accept",
        POD_SERVICE,
      ]),
    ),
  },
  {
    // §8.9 writes the host-DNS address `fd54:616c:6f73::204f:…`; nft (inet_ntop, RFC 5952) never
    // shortens a single zero group, so the listing reads `:0:` — see docs/verified.md.
    name: "G6 dual-stack pod/service subnets → an IPv4 and an IPv6 rule for each host-DNS protocol and for pod/service",
    yaml: `${BLOCK}---\nversion: v1alpha1\nmachine:\n  features:\n    hostDNS:\n      forwardKubeDNSToHost: true\ncluster:\n  network:\n    podSubnets: [10.244.0.0/16, fd00:10:244::/56]\n    serviceSubnets: [10.96.0.0/12, fd00:10:96::/112]\n`,
    listing: table(
      ingress("drop", [
        ...BLOCK_PREAMBLE,
        "ip saddr { 10.96.0.0/12, 10.244.0.0/16 } ip daddr { 169.254.116.108 } udp dport { 53 } counter accept",
        "ip6 saddr { fd00:10:96::/112, fd00:10:244::/56 } ip6 daddr { fd54:616c:6f73:0:204f:5320:444e:531 } udp dport { 53 } counter accept",
        "ip saddr { 10.96.0.0/12, 10.244.0.0/16 } ip daddr { 169.254.116.108 } tcp dport { 53 } counter accept",
        "ip6 saddr { fd00:10:96::/112, fd00:10:244::/56 } ip6 daddr { fd54:616c:6f73:0:204f:5320:444e:531 } tcp dport { 53 } counter accept",
        POD_SERVICE,
        "ip6 saddr { fd00:10:96::/112, fd00:10:244::/56 } ip6 daddr { fd00:10:96::/112, fd00:10:244::/56 } counter accept",
      ]),
    ),
  },
  {
    name: "G6 IPv6 service subnet without an IPv6 pod subnet → the IPv6 host-DNS rule has no ip6 daddr test (W014)",
    yaml: `${BLOCK}---\nversion: v1alpha1\nmachine:\n  features:\n    hostDNS:\n      forwardKubeDNSToHost: true\ncluster:\n  network:\n    serviceSubnets: [10.96.0.0/12, fd00:10:96::/112]\n`,
    listing: table(
      ingress("drop", [
        ...BLOCK_PREAMBLE,
        "ip saddr { 10.96.0.0/12, 10.244.0.0/16 } ip daddr { 169.254.116.108 } udp dport { 53 } counter accept",
        "ip6 saddr { fd00:10:96::/112 } udp dport { 53 } counter accept",
        "ip saddr { 10.96.0.0/12, 10.244.0.0/16 } ip daddr { 169.254.116.108 } tcp dport { 53 } counter accept",
        "ip6 saddr { fd00:10:96::/112 } tcp dport { 53 } counter accept",
        POD_SERVICE,
        "ip6 saddr { fd00:10:96::/112 } ip6 daddr { fd00:10:96::/112 } counter accept",
      ]),
    ),
  },
  {
    name: "G7 G5's input under talos-1.7 → no host-DNS rule, the pod/service rule without counter",
    yaml: `${BLOCK}---\n${HOST_DNS_MAIN}`,
    profile: "talos-1.7",
    listing: table(
      ingress(
        "drop",
        [
          'iifname { "lo", "siderolink", "kubespan" } accept',
          "ct state { established, related } accept",
          "ct state invalid drop",
          "meta l4proto icmp limit rate 5/second accept",
          "meta l4proto ipv6-icmp limit rate 5/second accept",
          "ip saddr { 10.96.0.0/12, 10.244.0.0/16 } ip daddr { 10.96.0.0/12, 10.244.0.0/16 } accept",
        ],
        "filter",
      ),
    ),
  },
  {
    name: "G8 accept, one rule, node addresses known but empty → prerouting lets both families through, user rules unreachable",
    yaml: KUBELET_172,
    nodeAddresses: [],
    listing: table(
      ingress("accept", [
        TRUSTED,
        ...CT,
        "ip saddr != { 172.20.0.0/24 } tcp dport { 10250 } counter drop",
        "meta nfproto ipv6 tcp dport { 10250 } counter drop",
      ]),
      prerouting([
        TRUSTED,
        "meta nfproto ipv4 counter accept",
        "meta nfproto ipv6 counter accept",
        "ct state new ip saddr != { 172.20.0.0/24 } tcp dport { 10250 } counter drop",
        "ct state new meta nfproto ipv6 tcp dport { 10250 } counter drop",
      ]),
    ),
  },
  {
    name: "§8.6 parse fixture, block mode → the except splits 192.168.0.0/16; ports 53 and 8000-9000",
    yaml: `${BLOCK}---
apiVersion: v1alpha1
kind: NetworkRuleConfig
name: test
portSelector:
    ports:
        - 53
        - 8000-9000
    protocol: udp
ingress:
    - subnet: 192.168.0.0/16
      except: 192.168.0.3/32
    - subnet: 2001::/16
`,
    listing: table(
      ingress("drop", [
        ...BLOCK_PREAMBLE,
        "ip saddr { 192.168.0.0-192.168.0.2, 192.168.0.4-192.168.255.255 } udp dport { 53, 8000-9000 } counter accept",
        "ip6 saddr { 2001::/16 } udp dport { 53, 8000-9000 } counter accept",
      ]),
    ),
  },
  {
    name: "§8.8 the live v1.10 rule (accept, except 172.20.0.1/32) under talos: ct rules, then the two rules",
    yaml: `${KUBELET_172}    except: 172.20.0.1/32\n`,
    listing: table(
      ingress("accept", [
        TRUSTED,
        ...CT,
        "ip saddr != { 172.20.0.0, 172.20.0.2-172.20.0.255 } tcp dport { 10250 } counter drop",
        "meta nfproto ipv6 tcp dport { 10250 } counter drop",
      ]),
    ),
  },
];

// ---- §8.2 controller cases ----

const CONTROLLER_RULES = `apiVersion: v1alpha1
kind: NetworkRuleConfig
name: kubelet-ingress
portSelector: {ports: [10250], protocol: tcp}
ingress:
  - subnet: 10.0.0.0/8
    except: 10.3.0.0/16
  - subnet: 192.168.0.0/16
---
apiVersion: v1alpha1
kind: NetworkRuleConfig
name: apid-ingress
portSelector: {ports: [50000], protocol: tcp}
ingress:
  - subnet: 0.0.0.0/0
`;
const NODE = [parseAddress("10.3.4.5")!];
const controller = (mode: "accept" | "block"): Case => ({
  yaml: mode === "block" ? `${BLOCK}---\n${CONTROLLER_RULES}` : CONTROLLER_RULES,
  nodeAddresses: NODE,
});

const prefixText = (x: Prefix) => `${formatAddress(x.family, x.addr)}/${x.bits}`;
const addrView = (m: AddrMatch) => ({ include: m.include.map(prefixText), exclude: m.exclude.map(prefixText), invert: m.invert });

/** An IR rule as the §8.2 tables write it: prefixes as text, no origin. */
function ruleView(r: IrRule): Record<string, unknown> {
  const v: Record<string, unknown> = {};
  if (r.iifname) v.iifname = { names: [...r.iifname.names], negate: r.iifname.negate };
  if (r.ctState) v.ct = [...r.ctState];
  if (r.l4)
    v.l4 = {
      protocol: r.l4.protocol,
      ...(r.l4.dports ? { dports: r.l4.dports.map((d) => `${d.lo}-${d.hi}`) } : {}),
      ...(r.l4.icmpTypes ? { icmpTypes: [...r.l4.icmpTypes] } : {}),
    };
  if (r.src) v.src = addrView(r.src);
  if (r.dst) v.dst = addrView(r.dst);
  if (r.limit) v.limit = { ...r.limit };
  v.counter = r.counter;
  v.verdict = r.verdict;
  return v;
}
const chainView = (c: IrChain) => ({ name: c.name, hook: c.hook, priority: c.priority, policy: c.policy, rules: c.rules.map(ruleView) });

const trio = { iifname: { names: ["lo", "siderolink", "kubespan"], negate: false } };
const on = (verdict: "accept" | "drop") => ({ counter: true, verdict });
const kubeletSrc = (invert: boolean) => ({
  src: { include: ["10.0.0.0/8", "192.168.0.0/16"], exclude: ["10.3.0.0/16"], invert },
  l4: { protocol: 6, dports: ["10250-10250"] },
});
const apidSrc = (invert: boolean) => ({ src: { include: ["0.0.0.0/0"], exclude: [], invert }, l4: { protocol: 6, dports: ["50000-50000"] } });
const notForNode = { dst: { include: ["10.3.4.5/32"], exclude: [], invert: true } };
const ctNew = { ct: ["new"] };
const irOf = (c: Case) => buildIr(configOf(c.yaml), { profile: PROFILES[c.profile ?? "talos"], nodeAddresses: c.nodeAddresses ?? null }).chains.map(chainView);

describe("§8.2 controller cases (node address 10.3.4.5)", () => {
  test("accept mode: expected IR", () => {
    assert.deepEqual(irOf(controller("accept")), [
      {
        name: "ingress",
        hook: "input",
        priority: -140,
        policy: "accept",
        rules: [
          { ...trio, ...on("accept") },
          { ct: ["established", "related"], ...on("accept") },
          { ct: ["invalid"], ...on("drop") },
          { ...kubeletSrc(true), ...on("drop") },
          { ...apidSrc(true), ...on("drop") },
        ],
      },
      {
        name: "prerouting",
        hook: "prerouting",
        priority: -110,
        policy: "accept",
        rules: [
          { ...trio, ...on("accept") },
          { ...notForNode, ...on("accept") },
          { ...ctNew, ...kubeletSrc(true), ...on("drop") },
          { ...ctNew, ...apidSrc(true), ...on("drop") },
        ],
      },
    ]);
  });

  test("block mode: expected IR", () => {
    assert.deepEqual(irOf(controller("block")), [
      {
        name: "ingress",
        hook: "input",
        priority: -140,
        policy: "drop",
        rules: [
          { ...trio, ...on("accept") },
          { ct: ["established", "related"], ...on("accept") },
          { ct: ["invalid"], ...on("drop") },
          { l4: { protocol: 1, icmpTypes: [13, 14, 17, 18] }, ...on("drop") },
          { l4: { protocol: 1 }, limit: { rate: 5, burst: 5 }, ...on("accept") },
          { l4: { protocol: 58 }, limit: { rate: 5, burst: 5 }, ...on("accept") },
          { ...kubeletSrc(false), ...on("accept") },
          { ...apidSrc(false), ...on("accept") },
        ],
      },
      {
        name: "prerouting",
        hook: "prerouting",
        priority: -110,
        policy: "accept",
        rules: [
          { ...trio, ...on("accept") },
          { ...notForNode, ...on("accept") },
          { ...ctNew, ...kubeletSrc(false), ...on("accept") },
          { ...ctNew, ...apidSrc(false), ...on("accept") },
          { ...ctNew, l4: { protocol: 6 }, ...on("drop") },
          { ...ctNew, l4: { protocol: 17 }, ...on("drop") },
        ],
      },
    ]);
  });

  for (const mode of ["accept", "block"] as const) {
    test(`${mode} mode: listing equals the documented derived listing`, () => {
      assertListing(compile(controller(mode)), gold(`controller-${mode}.nft`));
    });
    test(`${mode} mode: in the kernel`, { skip }, () => {
      assertKernelMatchesGold(compile(controller(mode)), gold(`controller-${mode}.nft`));
    });
  }
});

// ---- §8.3 the documented v1.7 listings ----

const learnMore = (mode: "accept" | "block") => readFileSync(`${ROOT}examples/learn-more/${mode}.yaml`, "utf8");

const TALOS_DERIVED: Record<"accept" | "block", string> = {
  accept: table(
    ingress("accept", [TRUSTED, ...CT, "ip saddr != { 172.20.0.0/24 } tcp dport { 10250 } counter drop", "meta nfproto ipv6 tcp dport { 10250 } counter drop"]),
  ),
  block: table(
    ingress("drop", [
      ...BLOCK_PREAMBLE,
      "ip saddr { 172.20.0.0/24 } tcp dport { 10250 } counter accept",
      "meta nfproto ipv4 tcp dport { 50000 } counter accept",
      "meta nfproto ipv6 tcp dport { 50000 } counter accept",
    ]),
  ),
};

/** The CLI as a user runs it. */
function cliRender(...args: string[]): string {
  return execFileSync(process.execPath, ["--import", "tsx", "src/cli/bin.ts", "render", ...args], { cwd: ROOT, encoding: "utf8" });
}

describe("§8.3 the documented v1.7 listings", () => {
  for (const mode of ["accept", "block"] as const) {
    test(`talos-1.7 ${mode}: renderText is the documented listing, whitespace aside`, () => {
      const rs = compile({ yaml: learnMore(mode), profile: "talos-1.7" });
      assert.equal(collapseWhitespace(renderText(rs)), collapseWhitespace(gold(`learn-more-${mode}.nft`)));
    });
    test(`talos-1.7 ${mode}: in the kernel`, { skip }, () => {
      assertKernelMatchesGold(compile({ yaml: learnMore(mode), profile: "talos-1.7" }), gold(`learn-more-${mode}.nft`));
    });
    test(`talos ${mode}: the derived form`, () => {
      assertListing(compile({ yaml: learnMore(mode) }), TALOS_DERIVED[mode]);
    });
    test(`talos ${mode}: the derived form in the kernel`, { skip }, () => {
      assertKernelMatchesGold(compile({ yaml: learnMore(mode) }), TALOS_DERIVED[mode]);
    });
    test(`CLI: render --profile talos-1.7 --layout per-rule examples/learn-more/${mode}.yaml loads and lists as the seed's listing`, { skip }, () => {
      const args = ["--profile", "talos-1.7", "--layout", "per-rule", `examples/learn-more/${mode}.yaml`];
      const text = cliRender(...args);
      assert.equal(collapseWhitespace(text), collapseWhitespace(gold(`learn-more-${mode}.nft`)));
      const expected = normalizeListing(listFresh(gold(`learn-more-${mode}.nft`), "text"));
      assert.equal(normalizeListing(listFresh(text, "text")), expected);
      assert.equal(normalizeListing(listFresh(cliRender(...args, "--format", "json"), "json")), expected);
    });
  }

  const SEED = "/work/shared/spec/seed-ingress-firewall.md";
  test("the gold fixtures are the seed's Learn More listings, verbatim", { skip: existsSync(SEED) ? false : `${SEED} is not available` }, () => {
    const listings = readFileSync(SEED, "utf8").match(/^table inet talos \{\n[\s\S]*?^\}/gm);
    assert.deepEqual(
      listings?.map((l) => `${l}\n`),
      [gold("learn-more-accept.nft"), gold("learn-more-block.nft")],
    );
  });
});

// ---- §8.1, §8.6, §8.8, §8.9 ----

describe("§8.1/§8.6/§8.8/§8.9 listings from documents", () => {
  for (const c of LISTING_CASES) {
    test(c.name, () => {
      assertListing(compile(c), c.listing);
    });
  }
  test("G1/G2: no chains are compiled at all", () => {
    assert.deepEqual(compile(LISTING_CASES[0]!).chains, []);
    assert.deepEqual(compile(LISTING_CASES[1]!).chains, []);
  });
});

describe("§8.1/§8.6/§8.8/§8.9 listings from documents, in the kernel", { skip }, () => {
  for (const c of LISTING_CASES) {
    test(c.name, () => {
      assertKernelMatchesGold(compile(c), c.listing);
    });
  }
});
