// Flow impact preview: which flows matter, how each becomes a packet, and the grouped report.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { parseAddress, type Address } from "../net/address.js";
import { parseFlows } from "./conntrack.js";
import { flowReportJson, flowReportText } from "./flow-report.js";
import { flowPacket, localFromAddresses, localFromRoutes, previewFlows } from "./flows.js";
import { compileYaml } from "./test-support/packets.js";

const addr = (t: string) => parseAddress(t) as Address;
const v = (t: string) => addr(t).value;

// Captured from `ip -j route show table all type local` in a namespace with 10.9.0.1 and fd00:9::1 on veth d0.
const ROUTES = `[{"type":"local","dst":"10.9.0.1","dev":"d0","table":"local","protocol":"kernel","scope":"host","prefsrc":"10.9.0.1","flags":[]},{"type":"local","dst":"127.0.0.0/8","dev":"lo","table":"local","protocol":"kernel","scope":"host","prefsrc":"127.0.0.1","flags":[]},{"type":"local","dst":"127.0.0.1","dev":"lo","table":"local","protocol":"kernel","scope":"host","prefsrc":"127.0.0.1","flags":[]},{"type":"local","dst":"::1","dev":"lo","table":"local","protocol":"kernel","metric":0,"flags":[],"pref":"medium"},{"type":"local","dst":"fd00:9::1","dev":"d0","table":"local","protocol":"kernel","metric":0,"flags":[],"pref":"medium"}]`;

describe("local addresses", () => {
  test("from local routes: host routes and the loopback /8, both families", () => {
    const local = localFromRoutes(ROUTES);
    assert.deepEqual(local[4], [
      { lo: v("10.9.0.1"), hi: v("10.9.0.1") },
      { lo: v("127.0.0.0"), hi: v("127.255.255.255") },
    ]);
    assert.deepEqual(local[6], [
      { lo: v("::1"), hi: v("::1") },
      { lo: v("fd00:9::1"), hi: v("fd00:9::1") },
    ]);
  });

  test("from given addresses: those plus loopback", () => {
    const local = localFromAddresses([addr("10.3.4.5"), addr("2001:db8::2")]);
    assert.equal(local[4].length, 2);
    assert.deepEqual(local[6], [
      { lo: v("::1"), hi: v("::1") },
      { lo: v("2001:db8::2"), hi: v("2001:db8::2") },
    ]);
  });
});

describe("flowPacket", () => {
  const local = localFromAddresses([addr("10.3.4.5")]);
  const flow = (line: string) => parseFlows(line).flows[0]!;

  test("a flow to a local address: a new packet from the original source on the given interface", () => {
    const p = flowPacket(flow("tcp,203.0.113.7,10.3.4.5,10250"), { local, iface: "ens3" });
    assert.deepEqual(p, { iif: "ens3", family: 4, src: v("203.0.113.7"), dst: v("10.3.4.5"), protocol: 6, dport: 10250, ctState: "new" });
  });

  test("a flow the host opened to a remote address is not ingress: skipped", () => {
    assert.equal(flowPacket(flow("tcp,10.3.4.5,1.1.1.1,443"), { local, iface: "eth0" }), null);
  });

  test("without local addresses every flow is taken to be for this host", () => {
    assert.notEqual(flowPacket(flow("tcp,10.3.4.5,1.1.1.1,443"), { local: null, iface: "eth0" }), null);
  });

  test("from a local or loopback address: arrives on lo", () => {
    assert.equal(flowPacket(flow("tcp,127.0.0.1,127.0.0.1,2379"), { local, iface: "eth0" })?.iif, "lo");
    assert.equal(flowPacket(flow("tcp,10.3.4.5,10.3.4.5,2379"), { local, iface: "eth0" })?.iif, "lo");
    assert.equal(flowPacket(flow("tcp,::1,::1,2379"), { local, iface: "eth0" })?.iif, "lo");
  });

  test("NodePort DNAT to a pod: prerouting sees the node address and port, the packet is forwarded", () => {
    const f = flow(
      "tcp      6 431999 ESTABLISHED src=203.0.113.7 dst=10.3.4.5 sport=47962 dport=30080 src=10.244.1.9 dst=203.0.113.7 sport=8080 dport=47962 [ASSURED] mark=0 use=1",
    );
    assert.deepEqual(flowPacket(f, { local, iface: "eth0" }), {
      iif: "eth0",
      family: 4,
      src: v("203.0.113.7"),
      dst: v("10.244.1.9"),
      protocol: 6,
      dport: 8080,
      ctState: "new",
      origDst: v("10.3.4.5"),
      origDport: 30080,
      forwarded: true,
    });
  });

  test("a service address DNAT'd to this host: not forwarded", () => {
    const f = flow(
      "tcp      6 431999 ESTABLISHED src=10.244.1.9 dst=10.96.0.1 sport=40000 dport=443 src=10.3.4.5 dst=10.244.1.9 sport=6443 dport=40000 [ASSURED] mark=0 use=1",
    );
    const p = flowPacket(f, { local, iface: "eth0" })!;
    assert.equal(p.forwarded, undefined);
    assert.equal(p.dst, v("10.3.4.5"));
    assert.equal(p.origDst, v("10.96.0.1"));
  });
});

describe("previewFlows on the seed's controlplane example", () => {
  const rs = compileYaml(readFileSync(new URL("../../examples/seed/controlplane.yaml", import.meta.url), "utf8"), {
    nodeAddresses: ["172.20.0.2", "2001:db8::2"],
  });
  const table = [
    "tcp      6 431999 ESTABLISHED src=172.20.0.9 dst=172.20.0.2 sport=51234 dport=22 src=172.20.0.2 dst=172.20.0.9 sport=22 dport=51234 [ASSURED] mark=0 use=1",
    "tcp      6 431999 ESTABLISHED src=172.20.0.9 dst=172.20.0.2 sport=51240 dport=22 src=172.20.0.2 dst=172.20.0.9 sport=22 dport=51240 [ASSURED] mark=0 use=1",
    "tcp      6 431999 ESTABLISHED src=2001:db8::7 dst=2001:db8::2 sport=51234 dport=22 src=2001:db8::2 dst=2001:db8::7 sport=22 dport=51234 [ASSURED] mark=0 use=1",
    "tcp      6 431999 ESTABLISHED src=172.20.0.5 dst=172.20.0.2 sport=40000 dport=10250 src=172.20.0.2 dst=172.20.0.5 sport=10250 dport=40000 [ASSURED] mark=0 use=1",
    "tcp      6 431999 ESTABLISHED src=203.0.113.7 dst=172.20.0.2 sport=40001 dport=10250 src=172.20.0.2 dst=203.0.113.7 sport=10250 dport=40001 [ASSURED] mark=0 use=1",
    "tcp      6 431999 ESTABLISHED src=203.0.113.7 dst=172.20.0.2 sport=40002 dport=50000 src=172.20.0.2 dst=203.0.113.7 sport=50000 dport=40002 [ASSURED] mark=0 use=1",
    "tcp      6 431999 ESTABLISHED src=172.20.0.2 dst=1.1.1.1 sport=40003 dport=443 src=1.1.1.1 dst=172.20.0.2 sport=443 dport=40003 [ASSURED] mark=0 use=1",
    "tcp      6 431999 ESTABLISHED src=203.0.113.7 dst=172.20.0.2 sport=47962 dport=30080 src=10.244.1.9 dst=203.0.113.7 sport=8080 dport=47962 [ASSURED] mark=0 use=1",
    "tcp      6 431999 ESTABLISHED src=127.0.0.1 dst=127.0.0.1 sport=40004 dport=2379 src=127.0.0.1 dst=127.0.0.1 sport=2379 dport=40004 [ASSURED] mark=0 use=1",
    "icmp     1 29 src=203.0.113.7 dst=172.20.0.2 type=8 code=0 id=9717 src=172.20.0.2 dst=203.0.113.7 type=0 code=0 id=9717 mark=0 use=1",
    "udp      17 29 src=172.20.0.3 dst=172.20.0.2 sport=44603 dport=4789 [UNREPLIED] src=172.20.0.2 dst=172.20.0.3 sport=4789 dport=44603 mark=0 use=1",
    "this line is not a flow",
  ].join("\n");
  const parsed = parseFlows(table);
  const report = previewFlows(rs, parsed.flows, { local: localFromAddresses([addr("172.20.0.2"), addr("2001:db8::2")]), iface: "eth0" });

  test("counts", () => {
    assert.deepEqual(
      {
        flows: report.flows,
        skipped: report.skipped,
        accepted: report.accepted,
        rateLimited: report.rateLimited,
        dropped: report.dropped,
        undetermined: report.undetermined,
      },
      { flows: 11, skipped: 1, accepted: 5, rateLimited: 1, dropped: 5, undetermined: 0 },
    );
  });

  test("the text report groups drops by port, then source, with what decided", () => {
    assert.deepEqual(flowReportText(report, parsed.errors), [
      "Would be dropped (each flow replayed as a new connection):",
      "  tcp/22: 3 flows",
      "    from 172.20.0.9: 2 flows to 172.20.0.2 — rule 11 of chain prerouting, builtin new-tcp-drop: new TCP connections to a node address that no rule admits are dropped before DNAT (block mode)",
      "    from 2001:db8::7: 1 flow to 2001:db8::2 — rule 11 of chain prerouting, builtin new-tcp-drop: new TCP connections to a node address that no rule admits are dropped before DNAT (block mode)",
      "  tcp/10250: 1 flow",
      "    from 203.0.113.7: 1 flow to 172.20.0.2 — rule 11 of chain prerouting, builtin new-tcp-drop: new TCP connections to a node address that no rule admits are dropped before DNAT (block mode)",
      "  tcp/30080: 1 flow",
      "    from 203.0.113.7: 1 flow to 172.20.0.2 — rule 11 of chain prerouting, builtin new-tcp-drop: new TCP connections to a node address that no rule admits are dropped before DNAT (block mode)",
      "Summary: 11 flows: 5 accepted (1 only under a rate limit), 5 dropped, 1 not addressed to this host; 1 line not understood.",
    ]);
  });

  test("the JSON report carries the same numbers and groups", () => {
    const j = flowReportJson(report, parsed.errors) as {
      summary: Record<string, number>;
      drops: { protocol: string; port: number; flows: number }[];
      errors: unknown[];
    };
    assert.deepEqual(j.summary, { flows: 11, accepted: 5, rateLimited: 1, dropped: 5, undetermined: 0, notForThisHost: 1, unreadLines: 1 });
    assert.deepEqual(
      j.drops.map((g) => [g.protocol, g.port, g.flows]),
      [
        ["tcp", 22, 3],
        ["tcp", 10250, 1],
        ["tcp", 30080, 1],
      ],
    );
    assert.deepEqual(j.errors, [{ line: 12, message: "neither a conntrack -L line nor CSV proto,src,dst,dport" }]);
  });
});

describe("previewFlows: verdicts conntrack cannot settle", () => {
  test("an ICMP rule's ports compare the checksum, which conntrack does not record", () => {
    const rs = compileYaml(
      "apiVersion: v1alpha1\nkind: NetworkRuleConfig\nname: icmp-ports\nportSelector: {ports: [100], protocol: icmp}\ningress:\n  - subnet: 10.0.0.0/8\n",
    );
    const parsed = parseFlows("icmp,203.0.113.7,192.0.2.1\nicmp,10.0.0.7,192.0.2.1\n");
    const report = previewFlows(rs, parsed.flows, { local: null, iface: "eth0" });
    assert.equal(report.undetermined, 1);
    assert.equal(report.accepted, 1);
    assert.deepEqual(flowReportText(report, parsed.errors), [
      "No flow would be dropped.",
      "Verdict depends on the ICMP checksum, which conntrack does not record (an ICMP rule's ports compare it):",
      "  icmp type 8: 1 flow",
      "    from 203.0.113.7: 1 flow to 192.0.2.1",
      "Summary: 2 flows: 1 accepted, 0 dropped, 1 undetermined.",
    ]);
  });
});
