// The evaluator on the gold cases of semantics §8: packets inside, outside and at the edges of every
// set (first/last address of a range, port lo/hi, ±1). Each expectation is a trace:
// `verdict | chain[index]:rule-or-builtin:verdict > …` over the base chains the packet met.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parsePrefix } from "../net/address.js";
import type { IrRule, Verdict } from "../compile/ir.js";
import { layoutPerRule } from "../compile/layouts/per-rule.js";
import type { Ruleset } from "../compile/ruleset.js";
import { evaluate } from "./evaluate.js";
import { compileYaml, packet, trace, type PacketSpec } from "./test-support/packets.js";

type Case = [PacketSpec, string];

function check(rs: Ruleset, cases: readonly Case[]): void {
  for (const [spec, expected] of cases) {
    assert.equal(trace(evaluate(rs, packet(spec))), expected, JSON.stringify(spec));
  }
}

const RULES_8_2 = `
apiVersion: v1alpha1
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
const BLOCK = "apiVersion: v1alpha1\nkind: NetworkDefaultActionConfig\ningress: block\n---\n";
const NODE = "10.3.4.5";

describe("§8.2 controller cases, talos profile, node address 10.3.4.5 (prerouting + ingress)", () => {
  describe("accept mode", () => {
    const rs = compileYaml(RULES_8_2, { nodeAddresses: [NODE] });
    const pass = "accept | prerouting:policy:accept > ingress:policy:accept";
    const kubeletDrop = "drop | prerouting[3]:kubelet-ingress:drop";

    test("kubelet-ingress: the effective set 10.0.0.0-10.2.255.255, 10.4.0.0-10.255.255.255, 192.168.0.0/16 and its edges", () => {
      check(rs, [
        [{ from: "10.0.0.0", to: NODE, port: 10250 }, pass],
        [{ from: "10.2.255.255", to: NODE, port: 10250 }, pass],
        [{ from: "10.3.0.0", to: NODE, port: 10250 }, kubeletDrop],
        [{ from: "10.3.255.255", to: NODE, port: 10250 }, kubeletDrop],
        [{ from: "10.4.0.0", to: NODE, port: 10250 }, pass],
        [{ from: "10.255.255.255", to: NODE, port: 10250 }, pass],
        [{ from: "9.255.255.255", to: NODE, port: 10250 }, kubeletDrop],
        [{ from: "11.0.0.0", to: NODE, port: 10250 }, kubeletDrop],
        [{ from: "192.168.0.0", to: NODE, port: 10250 }, pass],
        [{ from: "192.168.255.255", to: NODE, port: 10250 }, pass],
        [{ from: "192.167.255.255", to: NODE, port: 10250 }, kubeletDrop],
        [{ from: "192.169.0.0", to: NODE, port: 10250 }, kubeletDrop],
      ]);
    });

    test("ports ±1, another protocol, and apid-ingress covering all of IPv4 (no IPv4 rule)", () => {
      check(rs, [
        [{ from: "11.0.0.0", to: NODE, port: 10249 }, pass],
        [{ from: "11.0.0.0", to: NODE, port: 10251 }, pass],
        [{ from: "11.0.0.0", to: NODE, proto: "udp", port: 10250 }, pass],
        [{ from: "203.0.113.7", to: NODE, port: 50000 }, pass],
        [{ from: "0.0.0.0", to: NODE, port: 50000 }, pass],
      ]);
    });

    test("IPv6 leaves prerouting (no IPv6 node address) and is dropped in ingress on both ports (the quirk)", () => {
      check(rs, [
        [{ from: "2001:db8::7", port: 10250 }, "drop | prerouting[2]:not-for-node:accept > ingress[4]:kubelet-ingress:drop"],
        [{ from: "2001:db8::7", port: 50000 }, "drop | prerouting[2]:not-for-node:accept > ingress[5]:apid-ingress:drop"],
        [{ from: "2001:db8::7", port: 50001 }, "accept | prerouting[2]:not-for-node:accept > ingress:policy:accept"],
      ]);
    });

    test("conntrack state: prerouting matches only new; ingress accepts established and drops invalid", () => {
      check(rs, [
        [{ from: "11.0.0.0", to: NODE, port: 10250, state: "established" }, "accept | prerouting:policy:accept > ingress[1]:conntrack-established:accept"],
        [{ from: "11.0.0.0", to: NODE, port: 10250, state: "related" }, "accept | prerouting:policy:accept > ingress[1]:conntrack-established:accept"],
        [{ from: "10.0.0.1", to: NODE, port: 10250, state: "invalid" }, "drop | prerouting:policy:accept > ingress[2]:conntrack-invalid:drop"],
      ]);
    });

    test("trusted interfaces are exact names", () => {
      check(rs, [
        [{ from: "11.0.0.0", to: NODE, port: 10250, iif: "lo" }, "accept | prerouting[0]:trusted-interfaces:accept > ingress[0]:trusted-interfaces:accept"],
        [
          { from: "11.0.0.0", to: NODE, port: 10250, iif: "kubespan" },
          "accept | prerouting[0]:trusted-interfaces:accept > ingress[0]:trusted-interfaces:accept",
        ],
        [{ from: "11.0.0.0", to: NODE, port: 10250, iif: "kubespan0" }, kubeletDrop],
      ]);
    });

    test("not for a node address: prerouting's accept ends only that chain, ingress still drops", () => {
      check(rs, [
        [{ from: "11.0.0.0", to: "10.3.4.6", port: 10250 }, "drop | prerouting[1]:not-for-node:accept > ingress[3]:kubelet-ingress:drop"],
        [{ from: "11.0.0.0", to: "10.3.4.4", port: 10250 }, "drop | prerouting[1]:not-for-node:accept > ingress[3]:kubelet-ingress:drop"],
      ]);
    });

    test("DNAT: prerouting sees the original destination, input the translated one; a forwarded packet meets only prerouting", () => {
      check(rs, [
        // NodePort-style: to the node, translated to a pod and forwarded.
        [{ from: "11.0.0.0", origTo: NODE, origPort: 10250, to: "10.244.0.9", port: 8080, forwarded: true }, kubeletDrop],
        [{ from: "10.0.0.1", origTo: NODE, origPort: 10250, to: "10.244.0.9", port: 8080, forwarded: true }, "accept | prerouting:policy:accept"],
        [{ from: "11.0.0.0", to: "10.244.0.9", port: 10250, forwarded: true }, "accept | prerouting[1]:not-for-node:accept"],
        // A service address translated to the node: prerouting lets it go, ingress filters the translated packet.
        [
          { from: "11.0.0.0", origTo: "10.96.0.10", origPort: 443, to: NODE, port: 10250 },
          "drop | prerouting[1]:not-for-node:accept > ingress[3]:kubelet-ingress:drop",
        ],
        [
          { from: "11.0.0.0", origTo: "10.96.0.10", origPort: 10250, to: NODE, port: 443 },
          "accept | prerouting[1]:not-for-node:accept > ingress:policy:accept",
        ],
      ]);
    });
  });

  describe("block mode", () => {
    const rs = compileYaml(BLOCK + RULES_8_2, { nodeAddresses: [NODE] });
    const kubeletAccept = "accept | prerouting[3]:kubelet-ingress:accept > ingress[6]:kubelet-ingress:accept";
    const newTcpDrop = "drop | prerouting[5]:new-tcp-drop:drop";

    test("kubelet-ingress: union of the set, edges included; new TCP outside it dies in prerouting", () => {
      check(rs, [
        [{ from: "10.0.0.0", to: NODE, port: 10250 }, kubeletAccept],
        [{ from: "10.2.255.255", to: NODE, port: 10250 }, kubeletAccept],
        [{ from: "10.3.0.0", to: NODE, port: 10250 }, newTcpDrop],
        [{ from: "10.3.255.255", to: NODE, port: 10250 }, newTcpDrop],
        [{ from: "10.4.0.0", to: NODE, port: 10250 }, kubeletAccept],
        [{ from: "10.255.255.255", to: NODE, port: 10250 }, kubeletAccept],
        [{ from: "11.0.0.0", to: NODE, port: 10250 }, newTcpDrop],
        [{ from: "192.168.0.0", to: NODE, port: 10250 }, kubeletAccept],
        [{ from: "192.168.255.255", to: NODE, port: 10250 }, kubeletAccept],
        [{ from: "192.169.0.0", to: NODE, port: 10250 }, newTcpDrop],
        [{ from: "10.0.0.0", to: NODE, port: 10249 }, newTcpDrop],
        [{ from: "10.0.0.0", to: NODE, port: 10251 }, newTcpDrop],
      ]);
    });

    test("apid-ingress: all of IPv4, no IPv6; UDP dies in prerouting", () => {
      check(rs, [
        [{ from: "203.0.113.7", to: NODE, port: 50000 }, "accept | prerouting[4]:apid-ingress:accept > ingress[7]:apid-ingress:accept"],
        [{ from: "255.255.255.255", to: NODE, port: 50000 }, "accept | prerouting[4]:apid-ingress:accept > ingress[7]:apid-ingress:accept"],
        [{ from: "2001:db8::7", port: 50000 }, "drop | prerouting[2]:not-for-node:accept > ingress:policy:drop"],
        [{ from: "10.0.0.1", to: NODE, proto: "udp", port: 4789 }, "drop | prerouting[6]:new-udp-drop:drop"],
        [{ from: "203.0.113.7", to: "10.3.4.6", port: 22 }, "drop | prerouting[1]:not-for-node:accept > ingress:policy:drop"],
      ]);
    });

    test("conntrack: established gets through both chains", () => {
      check(rs, [
        [{ from: "10.3.0.0", to: NODE, port: 10250, state: "established" }, "accept | prerouting:policy:accept > ingress[1]:conntrack-established:accept"],
        [
          { from: "10.3.0.0", to: NODE, proto: "udp", port: 53, state: "related" },
          "accept | prerouting:policy:accept > ingress[1]:conntrack-established:accept",
        ],
      ]);
    });

    test("ICMP: types 13/14/17/18 dropped, others accepted under the 5/s limit, policy drop above it", () => {
      const limited = "accept (rate-limited: 5/s) | prerouting:policy:accept > ingress[4]:icmp-limit:accept";
      check(rs, [
        [{ from: "203.0.113.7", to: NODE, proto: "icmp", type: 8 }, limited],
        [{ from: "203.0.113.7", to: NODE, proto: "icmp", type: 12 }, limited],
        [{ from: "203.0.113.7", to: NODE, proto: "icmp", type: 13 }, "drop | prerouting:policy:accept > ingress[3]:icmp-type-drop:drop"],
        [{ from: "203.0.113.7", to: NODE, proto: "icmp", type: 14 }, "drop | prerouting:policy:accept > ingress[3]:icmp-type-drop:drop"],
        [{ from: "203.0.113.7", to: NODE, proto: "icmp", type: 15 }, limited],
        [{ from: "203.0.113.7", to: NODE, proto: "icmp", type: 17 }, "drop | prerouting:policy:accept > ingress[3]:icmp-type-drop:drop"],
        [{ from: "203.0.113.7", to: NODE, proto: "icmp", type: 18 }, "drop | prerouting:policy:accept > ingress[3]:icmp-type-drop:drop"],
        [{ from: "203.0.113.7", to: NODE, proto: "icmp", type: 19 }, limited],
        [
          { from: "2001:db8::7", proto: "icmpv6", type: 135 },
          "accept (rate-limited: 5/s) | prerouting[2]:not-for-node:accept > ingress[5]:icmpv6-limit:accept",
        ],
      ]);
      const e = evaluate(rs, packet({ from: "203.0.113.7", to: NODE, proto: "icmp", type: 8 }));
      assert.ok(e.verdict === "accept" && e.by.kind === "rule" && e.by.aboveRate);
      assert.deepEqual(e.by.rateLimit, { rate: 5, burst: 5 });
      assert.equal(trace(e.by.aboveRate), "drop | prerouting:policy:accept > ingress:policy:drop");
    });

    test("DNAT'd NodePort traffic is judged by prerouting on the original port", () => {
      check(rs, [
        [{ from: "203.0.113.7", origTo: NODE, origPort: 30080, to: "10.244.0.9", port: 8080, forwarded: true }, newTcpDrop],
        [{ from: "203.0.113.7", origTo: NODE, origPort: 50000, to: "10.244.0.9", port: 8080, forwarded: true }, "accept | prerouting[4]:apid-ingress:accept"],
      ]);
    });
  });
});

const RULES_8_3 = `
apiVersion: v1alpha1
kind: NetworkRuleConfig
name: kubelet-ingress
portSelector: {ports: [10250], protocol: tcp}
ingress:
  - subnet: 172.20.0.0/24
---
apiVersion: v1alpha1
kind: NetworkRuleConfig
name: apid-ingress
portSelector: {ports: [50000], protocol: tcp}
ingress:
  - subnet: 0.0.0.0/0
  - subnet: ::/0
`;

describe("§8.3 the documented v1.7 listings (talos-1.7: ingress only, no counters, no burst)", () => {
  test("accept mode: kubelet-ingress edges; apid-ingress has no rule; no conntrack guard", () => {
    const rs = compileYaml(RULES_8_3, { profile: "talos-1.7" });
    check(rs, [
      [{ from: "172.20.0.0", port: 10250 }, "accept | ingress:policy:accept"],
      [{ from: "172.20.0.255", port: 10250 }, "accept | ingress:policy:accept"],
      [{ from: "172.19.255.255", port: 10250 }, "drop | ingress[1]:kubelet-ingress:drop"],
      [{ from: "172.20.1.0", port: 10250 }, "drop | ingress[1]:kubelet-ingress:drop"],
      [{ from: "2001:db8::7", port: 10250 }, "drop | ingress[2]:kubelet-ingress:drop"],
      [{ from: "203.0.113.7", port: 50000 }, "accept | ingress:policy:accept"],
      [{ from: "2001:db8::7", port: 50000 }, "accept | ingress:policy:accept"],
      // W010: replies to connections the host opened are not protected in this profile.
      [{ from: "172.21.0.1", port: 10250, state: "established" }, "drop | ingress[1]:kubelet-ingress:drop"],
    ]);
  });

  test("block mode: rules 5-7, ICMP limited without burst and without the type drop", () => {
    const rs = compileYaml(BLOCK + RULES_8_3, { profile: "talos-1.7" });
    check(rs, [
      [{ from: "172.20.0.0", port: 10250 }, "accept | ingress[5]:kubelet-ingress:accept"],
      [{ from: "172.20.0.255", port: 10250 }, "accept | ingress[5]:kubelet-ingress:accept"],
      [{ from: "172.19.255.255", port: 10250 }, "drop | ingress:policy:drop"],
      [{ from: "172.20.1.0", port: 10250 }, "drop | ingress:policy:drop"],
      [{ from: "2001:db8::7", port: 10250 }, "drop | ingress:policy:drop"],
      [{ from: "203.0.113.7", port: 50000 }, "accept | ingress[6]:apid-ingress:accept"],
      [{ from: "2001:db8::7", port: 50000 }, "accept | ingress[7]:apid-ingress:accept"],
      [{ from: "203.0.113.7", port: 49999 }, "drop | ingress:policy:drop"],
      [{ from: "203.0.113.7", port: 50001 }, "drop | ingress:policy:drop"],
      [{ from: "172.21.0.1", port: 10250, state: "established" }, "accept | ingress[1]:conntrack-established:accept"],
      [{ from: "203.0.113.7", proto: "icmp", type: 13 }, "accept (rate-limited: 5/s) | ingress[3]:icmp-limit:accept"],
      [{ from: "2001:db8::7", proto: "icmpv6", type: 128 }, "accept (rate-limited: 5/s) | ingress[4]:icmpv6-limit:accept"],
    ]);
    const e = evaluate(rs, packet({ from: "203.0.113.7", proto: "icmp" }));
    assert.ok(e.verdict === "accept" && e.by.kind === "rule");
    assert.deepEqual(e.by.rateLimit, { rate: 5, burst: null });
  });
});

const MAIN_G5 = `
version: v1alpha1
machine:
  features:
    hostDNS:
      forwardKubeDNSToHost: true
cluster:
  network: {}
`;

describe("§8.1/§8.9 block mode without rules, pod/service and host DNS", () => {
  test("G3: only the six preamble rules; everything else meets the drop policy", () => {
    const rs = compileYaml("apiVersion: v1alpha1\nkind: NetworkDefaultActionConfig\ningress: block\n");
    check(rs, [
      [{ from: "203.0.113.7", port: 22 }, "drop | ingress:policy:drop"],
      [{ from: "172.20.0.5", port: 50000 }, "drop | ingress:policy:drop"],
      [{ from: "203.0.113.7", port: 22, state: "established" }, "accept | ingress[1]:conntrack-established:accept"],
      [{ from: "203.0.113.7", port: 22, state: "invalid" }, "drop | ingress[2]:conntrack-invalid:drop"],
      [{ from: "203.0.113.7", proto: "icmp", type: 13 }, "drop | ingress[3]:icmp-type-drop:drop"],
      [{ from: "203.0.113.7", proto: "icmp", type: 12 }, "accept (rate-limited: 5/s) | ingress[4]:icmp-limit:accept"],
      [{ from: "2001:db8::7", proto: "icmpv6", type: 135 }, "accept (rate-limited: 5/s) | ingress[5]:icmpv6-limit:accept"],
      [{ from: "203.0.113.7", port: 22, iif: "siderolink" }, "accept | ingress[0]:trusted-interfaces:accept"],
      [{ from: "203.0.113.7", port: 22, iif: "Lo" }, "drop | ingress:policy:drop"],
    ]);
  });

  test("G4: pod/service rule — source and destination both inside 10.96.0.0/12 ∪ 10.244.0.0/16", () => {
    const rs = compileYaml(`${BLOCK}version: v1alpha1\ncluster:\n  network: {}\n`);
    const podService = "accept | ingress[6]:pod-service:accept";
    check(rs, [
      [{ from: "10.244.0.0", to: "10.96.0.0", port: 1 }, podService],
      [{ from: "10.244.255.255", to: "10.111.255.255", proto: "udp", port: 53 }, podService],
      [{ from: "10.96.0.0", to: "10.244.255.255", proto: "icmp", type: 13 }, "drop | ingress[3]:icmp-type-drop:drop"],
      [{ from: "10.243.255.255", to: "10.96.0.1", port: 1 }, "drop | ingress:policy:drop"],
      [{ from: "10.245.0.0", to: "10.96.0.1", port: 1 }, "drop | ingress:policy:drop"],
      [{ from: "10.244.0.1", to: "10.95.255.255", port: 1 }, "drop | ingress:policy:drop"],
      [{ from: "10.244.0.1", to: "10.112.0.0", port: 1 }, "drop | ingress:policy:drop"],
      [{ from: "fd00::1", to: "fd00::2", port: 1 }, "drop | ingress:policy:drop"],
    ]);
  });

  test("G5: host DNS — udp and tcp 53 from pod/service subnets to 169.254.116.108 only", () => {
    const rs = compileYaml(BLOCK + MAIN_G5);
    check(rs, [
      [{ from: "10.244.1.1", to: "169.254.116.108", proto: "udp", port: 53 }, "accept | ingress[6]:host-dns-udp:accept"],
      [{ from: "10.96.0.10", to: "169.254.116.108", proto: "tcp", port: 53 }, "accept | ingress[7]:host-dns-tcp:accept"],
      [{ from: "10.244.1.1", to: "169.254.116.108", proto: "udp", port: 52 }, "drop | ingress:policy:drop"],
      [{ from: "10.244.1.1", to: "169.254.116.108", proto: "udp", port: 54 }, "drop | ingress:policy:drop"],
      [{ from: "10.244.1.1", to: "169.254.116.107", proto: "udp", port: 53 }, "drop | ingress:policy:drop"],
      [{ from: "10.244.1.1", to: "169.254.116.109", proto: "udp", port: 53 }, "drop | ingress:policy:drop"],
      [{ from: "10.0.0.1", to: "169.254.116.108", proto: "udp", port: 53 }, "drop | ingress:policy:drop"],
      [{ from: "10.244.1.1", to: "10.244.2.2", proto: "udp", port: 53 }, "accept | ingress[8]:pod-service:accept"],
    ]);
  });

  test("G6: dual-stack host DNS; the IPv6 rule's edges of fd00:10:244::/56 and fd00:10:96::/112", () => {
    const main = `${BLOCK}version: v1alpha1
machine: {features: {hostDNS: {forwardKubeDNSToHost: true}}}
cluster:
  network:
    podSubnets: [10.244.0.0/16, fd00:10:244::/56]
    serviceSubnets: [10.96.0.0/12, fd00:10:96::/112]
`;
    const rs = compileYaml(main);
    const dns6 = "fd54:616c:6f73::204f:5320:444e:531";
    check(rs, [
      [{ from: "10.244.1.1", to: "169.254.116.108", proto: "udp", port: 53 }, "accept | ingress[6]:host-dns-udp:accept"],
      [{ from: "fd00:10:244::", to: dns6, proto: "udp", port: 53 }, "accept | ingress[7]:host-dns-udp:accept"],
      [{ from: "fd00:10:244:ff:ffff:ffff:ffff:ffff", to: dns6, proto: "udp", port: 53 }, "accept | ingress[7]:host-dns-udp:accept"],
      [{ from: "fd00:10:244:100::", to: dns6, proto: "udp", port: 53 }, "drop | ingress:policy:drop"],
      [{ from: "fd00:10:96::ffff", to: dns6, proto: "tcp", port: 53 }, "accept | ingress[9]:host-dns-tcp:accept"],
      [{ from: "fd00:10:96::1:0", to: dns6, proto: "tcp", port: 53 }, "drop | ingress:policy:drop"],
      [{ from: "fd00:10:244::1", to: "fd00:10:96::1", proto: "udp", port: 53 }, "accept | ingress[11]:pod-service:accept"],
      [{ from: "fd00:10:244::1", to: "2001:db8::1", proto: "udp", port: 53 }, "drop | ingress:policy:drop"],
    ]);
  });

  test("G6 with an IPv6 service subnet but no IPv6 pod subnet: IPv6 port 53 is open to every destination (W014)", () => {
    const main = `${BLOCK}version: v1alpha1
machine: {features: {hostDNS: {forwardKubeDNSToHost: true}}}
cluster:
  network:
    serviceSubnets: [10.96.0.0/12, fd00:10:96::/112]
`;
    const rs = compileYaml(main);
    check(rs, [
      [{ from: "fd00:10:96::1", to: "2001:db8::1", proto: "udp", port: 53 }, "accept | ingress[7]:host-dns-udp:accept"],
      [{ from: "fd00:10:96::1", to: "2001:db8::1", proto: "udp", port: 54 }, "drop | ingress:policy:drop"],
      [{ from: "fd00:10:97::1", to: "2001:db8::1", proto: "udp", port: 53 }, "drop | ingress:policy:drop"],
    ]);
  });

  test("G7: talos-1.7 has no host-DNS rule, only pod/service", () => {
    const rs = compileYaml(BLOCK + MAIN_G5, { profile: "talos-1.7" });
    check(rs, [
      [{ from: "10.244.1.1", to: "169.254.116.108", proto: "udp", port: 53 }, "drop | ingress:policy:drop"],
      [{ from: "10.244.1.1", to: "10.244.2.2", proto: "udp", port: 53 }, "accept | ingress[5]:pod-service:accept"],
    ]);
  });

  test("G8: a known but empty node-address list makes every packet leave prerouting before the user rules", () => {
    const rs = compileYaml(RULES_8_3, { nodeAddresses: [] });
    check(rs, [
      [{ from: "203.0.113.7", port: 10250 }, "drop | prerouting[1]:not-for-node:accept > ingress[3]:kubelet-ingress:drop"],
      [{ from: "172.20.0.7", port: 10250 }, "accept | prerouting[1]:not-for-node:accept > ingress:policy:accept"],
      [{ from: "2001:db8::7", port: 10250 }, "drop | prerouting[2]:not-for-node:accept > ingress[4]:kubelet-ingress:drop"],
    ]);
  });
});

describe("§8.7 rule shapes, evaluated from hand-built IR through the per-rule layout", () => {
  const p = parsePrefix;
  const chainOf = (policy: Verdict, ...rules: Omit<IrRule, "counter" | "origin">[]): Ruleset =>
    layoutPerRule(
      {
        chains: [
          { name: "c", hook: "input", priority: 0, policy, rules: rules.map((r) => ({ ...r, counter: true, origin: { kind: "builtin", id: "pod-service" } })) },
        ],
      },
      "t",
      "talos",
    );

  test("N8: inverted source minus an exclude, a destination set, and the IPv6 quirk rule", () => {
    const rs = chainOf("drop", {
      src: { include: [p("10.0.0.0/8")], exclude: [p("10.3.0.0/16")], invert: true },
      dst: { include: [p("192.168.0.0/24")], exclude: [], invert: false },
      verdict: "accept",
    });
    check(rs, [
      [{ from: "11.0.0.0", to: "192.168.0.0" }, "accept | c[0]:pod-service:accept"],
      [{ from: "11.0.0.0", to: "192.168.0.255" }, "accept | c[0]:pod-service:accept"],
      [{ from: "11.0.0.0", to: "192.168.1.0" }, "drop | c:policy:drop"],
      [{ from: "11.0.0.0", to: "192.167.255.255" }, "drop | c:policy:drop"],
      [{ from: "10.3.0.0", to: "192.168.0.1" }, "accept | c[0]:pod-service:accept"],
      [{ from: "10.3.255.255", to: "192.168.0.1" }, "accept | c[0]:pod-service:accept"],
      [{ from: "10.2.255.255", to: "192.168.0.1" }, "drop | c:policy:drop"],
      [{ from: "10.4.0.0", to: "192.168.0.1" }, "drop | c:policy:drop"],
      [{ from: "9.255.255.255", to: "192.168.0.1" }, "accept | c[0]:pod-service:accept"],
      [{ from: "2001:db8::1", to: "2001:db8::2" }, "accept | c[1]:pod-service:accept"],
    ]);
  });

  test("N11: inverted 10.0.0.0/8 with ports 1023-1024", () => {
    const rs = chainOf("accept", {
      src: { include: [p("10.0.0.0/8")], exclude: [], invert: true },
      l4: {
        protocol: 6,
        dports: [
          { lo: 1023, hi: 1023 },
          { lo: 1024, hi: 1024 },
        ],
      },
      verdict: "drop",
    });
    check(rs, [
      [{ from: "11.0.0.0", port: 1023 }, "drop | c[0]:pod-service:drop"],
      [{ from: "11.0.0.0", port: 1024 }, "drop | c[0]:pod-service:drop"],
      [{ from: "11.0.0.0", port: 1022 }, "accept | c:policy:accept"],
      [{ from: "11.0.0.0", port: 1025 }, "accept | c:policy:accept"],
      [{ from: "10.0.0.0", port: 1023 }, "accept | c:policy:accept"],
      [{ from: "10.255.255.255", port: 1024 }, "accept | c:policy:accept"],
      [{ from: "9.255.255.255", port: 1023 }, "drop | c[0]:pod-service:drop"],
      [{ from: "2001:db8::1", port: 1023 }, "drop | c[1]:pod-service:drop"],
      [{ from: "2001:db8::1", port: 1025 }, "accept | c:policy:accept"],
      [{ from: "11.0.0.0", proto: "udp", port: 1023 }, "accept | c:policy:accept"],
    ]);
  });

  test("N13: 0.0.0.0/0 activates IPv4 without an address test and no IPv6 rule", () => {
    const rs = chainOf("drop", {
      src: { include: [p("0.0.0.0/0")], exclude: [], invert: false },
      l4: { protocol: 6, dports: [{ lo: 1023, hi: 1023 }] },
      verdict: "accept",
    });
    check(rs, [
      [{ from: "0.0.0.0", port: 1023 }, "accept | c[0]:pod-service:accept"],
      [{ from: "255.255.255.255", port: 1023 }, "accept | c[0]:pod-service:accept"],
      [{ from: "10.0.0.1", port: 1022 }, "drop | c:policy:drop"],
      [{ from: "10.0.0.1", port: 1024 }, "drop | c:policy:drop"],
      [{ from: "2001:db8::1", port: 1023 }, "drop | c:policy:drop"],
    ]);
  });

  test("N14: everything minus one address per family, at both ends of each family", () => {
    const rs = chainOf("drop", {
      src: { include: [p("0.0.0.0/0"), p("::/0")], exclude: [p("10.1.2.3/32"), p("fe80::1/128")], invert: false },
      l4: { protocol: 6, dports: [{ lo: 1023, hi: 1023 }] },
      verdict: "accept",
    });
    check(rs, [
      [{ from: "10.1.2.3", port: 1023 }, "drop | c:policy:drop"],
      [{ from: "10.1.2.2", port: 1023 }, "accept | c[0]:pod-service:accept"],
      [{ from: "10.1.2.4", port: 1023 }, "accept | c[0]:pod-service:accept"],
      [{ from: "0.0.0.0", port: 1023 }, "accept | c[0]:pod-service:accept"],
      [{ from: "255.255.255.255", port: 1023 }, "accept | c[0]:pod-service:accept"],
      [{ from: "fe80::1", port: 1023 }, "drop | c:policy:drop"],
      [{ from: "fe80::", port: 1023 }, "accept | c[1]:pod-service:accept"],
      [{ from: "fe80::2", port: 1023 }, "accept | c[1]:pod-service:accept"],
      [{ from: "::", port: 1023 }, "accept | c[1]:pod-service:accept"],
      [{ from: "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", port: 1023 }, "accept | c[1]:pod-service:accept"],
    ]);
  });
});

describe("rules Talos builds as written (§5.8, §5.12)", () => {
  const rule = (name: string, ports: string, protocol: string | null, subnets: string[]) =>
    `---\napiVersion: v1alpha1\nkind: NetworkRuleConfig\nname: ${name}\nportSelector:\n  ports: ${ports}\n${protocol ? `  protocol: ${protocol}\n` : ""}ingress:\n${subnets.map((s) => `  - subnet: ${s}\n`).join("")}`;

  test("port sets: single ports and ranges at 0 and 65535, adjacent ranges merged", () => {
    const rs = compileYaml(BLOCK + rule("edges", "[0, 1000-2000, 65535, 80-81, 82-90]", "tcp", ["0.0.0.0/0"]));
    const ok = "accept | ingress[6]:edges:accept";
    const no = "drop | ingress:policy:drop";
    check(rs, [
      [{ from: "10.0.0.1", port: 0 }, ok],
      [{ from: "10.0.0.1", port: 1 }, no],
      [{ from: "10.0.0.1", port: 79 }, no],
      [{ from: "10.0.0.1", port: 81 }, ok],
      [{ from: "10.0.0.1", port: 82 }, ok],
      [{ from: "10.0.0.1", port: 90 }, ok],
      [{ from: "10.0.0.1", port: 91 }, no],
      [{ from: "10.0.0.1", port: 999 }, no],
      [{ from: "10.0.0.1", port: 1000 }, ok],
      [{ from: "10.0.0.1", port: 2000 }, ok],
      [{ from: "10.0.0.1", port: 2001 }, no],
      [{ from: "10.0.0.1", port: 65534 }, no],
      [{ from: "10.0.0.1", port: 65535 }, ok],
    ]);
  });

  test("overlapping rules: union in block mode, intersection in accept mode", () => {
    const two = rule("wide", "[10250]", "tcp", ["10.0.0.0/8"]) + rule("narrow", "[10250]", "tcp", ["10.1.0.0/16"]);
    const block = compileYaml(BLOCK + two);
    check(block, [
      [{ from: "10.1.0.1", port: 10250 }, "accept | ingress[6]:wide:accept"],
      [{ from: "10.2.0.1", port: 10250 }, "accept | ingress[6]:wide:accept"],
      [{ from: "11.0.0.1", port: 10250 }, "drop | ingress:policy:drop"],
    ]);
    const accept = compileYaml(two);
    check(accept, [
      [{ from: "10.1.0.1", port: 10250 }, "accept | ingress:policy:accept"],
      [{ from: "10.2.0.1", port: 10250 }, "drop | ingress[5]:narrow:drop"],
      [{ from: "11.0.0.1", port: 10250 }, "drop | ingress[3]:wide:drop"],
    ]);
  });

  test("ICMP 'ports' compare the checksum; an unknown checksum gives the verdict per checksum range", () => {
    const rs = compileYaml(rule("icmp-ports", "[100-200, 300]", "icmp", ["10.0.0.0/8"]));
    check(rs, [
      [{ from: "11.0.0.1", proto: "icmp", checksum: 99 }, "accept | ingress:policy:accept"],
      [{ from: "11.0.0.1", proto: "icmp", checksum: 100 }, "drop | ingress[3]:icmp-ports:drop"],
      [{ from: "11.0.0.1", proto: "icmp", checksum: 200 }, "drop | ingress[3]:icmp-ports:drop"],
      [{ from: "11.0.0.1", proto: "icmp", checksum: 201 }, "accept | ingress:policy:accept"],
      [{ from: "11.0.0.1", proto: "icmp", checksum: 300 }, "drop | ingress[3]:icmp-ports:drop"],
      [{ from: "11.0.0.1", proto: "icmp", checksum: 301 }, "accept | ingress:policy:accept"],
      [
        { from: "11.0.0.1", proto: "icmp" },
        "depends on icmp-checksum: 0-99,201-299,301-65535 => accept | ingress:policy:accept; 100-200,300 => drop | ingress[3]:icmp-ports:drop",
      ],
      // Inside the rule's set the address test fails before the checksum is read: no dependence.
      [{ from: "10.0.0.1", proto: "icmp" }, "accept | ingress:policy:accept"],
      // `meta l4proto icmp` never matches ICMPv6, also in the IPv6 rule.
      [{ from: "2001:db8::1", proto: "icmpv6" }, "accept | ingress:policy:accept"],
      [{ from: "11.0.0.1", proto: "tcp", port: 100 }, "accept | ingress:policy:accept"],
    ]);
  });

  test("a rule without protocol (meta l4proto 0) never matches TCP or UDP", () => {
    const rs = compileYaml(rule("no-proto", "[22]", null, ["10.0.0.0/8"]));
    check(rs, [
      [{ from: "11.0.0.1", proto: "tcp", port: 22 }, "accept | ingress:policy:accept"],
      [{ from: "11.0.0.1", proto: "udp", port: 22 }, "accept | ingress:policy:accept"],
    ]);
  });

  test("a TCP packet without a port: the verdict per port range", () => {
    const rs = compileYaml(RULES_8_3, { profile: "talos-1.7" });
    check(rs, [
      [{ from: "172.21.0.1" }, "depends on dport: 0-10249,10251-65535 => accept | ingress:policy:accept; 10250 => drop | ingress[1]:kubelet-ingress:drop"],
    ]);
  });

  test("no chains (accept mode without rules): nothing filters", () => {
    const rs = compileYaml("apiVersion: v1alpha1\nkind: NetworkDefaultActionConfig\ningress: accept\n");
    check(rs, [[{ from: "203.0.113.7", port: 22 }, "accept | unfiltered"]]);
  });

  test("a decision settled by one chain and an unlimited rule is shared, not rebuilt per packet", () => {
    const rs = compileYaml(RULES_8_3, { profile: "talos-1.7" });
    const a = evaluate(rs, packet({ from: "203.0.113.7", port: 10250 }));
    const b = evaluate(rs, packet({ from: "198.51.100.1", port: 10250 }));
    assert.equal(a, b);
  });
});

describe("interpreting hand-written Expr lists", () => {
  const origin = { kind: "builtin", id: "pod-service" } as const;
  const rs: Ruleset = {
    family: "inet",
    table: "t",
    profile: "talos",
    layout: "per-rule",
    chains: [
      {
        name: "late",
        base: { hook: "input", priority: 10, policy: "accept" },
        rules: [
          {
            exprs: [
              { type: "iifname", op: "!=", names: ["eth0"] },
              { type: "verdict", verdict: "drop" },
            ],
            origin,
          },
        ],
      },
      {
        name: "early",
        base: { hook: "input", priority: -10, policy: "accept" },
        rules: [
          // A rule without a verdict never decides (the kernel continues with the next rule).
          { exprs: [{ type: "counter" }], origin },
          {
            exprs: [
              { type: "addr", field: "daddr", family: 4, op: "==", set: [{ lo: 1n, hi: 1n }] },
              { type: "verdict", verdict: "drop" },
            ],
            origin,
          },
        ],
      },
    ],
  };

  test("base chains on one hook run by priority; iifname != ; daddr; a verdict-less rule continues", () => {
    check(rs, [
      [{ from: "10.0.0.1", to: "0.0.0.1", port: 1 }, "drop | early[1]:pod-service:drop"],
      [{ from: "10.0.0.1", to: "0.0.0.2", port: 1 }, "accept | early:policy:accept > late:policy:accept"],
      [{ from: "10.0.0.1", to: "0.0.0.2", port: 1, iif: "eth1" }, "drop | early:policy:accept > late[0]:pod-service:drop"],
      [{ from: "::1", to: "::1", port: 1 }, "accept | early:policy:accept > late:policy:accept"],
    ]);
  });
});
