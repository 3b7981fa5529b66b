// Flow tables as conntrack-tools 1.4.7 prints them (lines captured from `conntrack -L` in a test
// namespace, plus forms from -o extended, -o id and conntrack -E), and the CSV form.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseAddress } from "../net/address.js";
import { parseFlows, type Flow } from "./conntrack.js";

const a = (t: string) => parseAddress(t)!.value;

function only(text: string): Flow {
  const r = parseFlows(text);
  assert.deepEqual(r.errors, []);
  assert.equal(r.flows.length, 1);
  return r.flows[0]!;
}

describe("conntrack -L lines", () => {
  test("TCP established, assured", () => {
    const f = only(
      "tcp      6 431999 ESTABLISHED src=10.0.0.2 dst=10.0.0.1 sport=51234 dport=22 src=10.0.0.1 dst=10.0.0.2 sport=22 dport=51234 [ASSURED] mark=0 use=1",
    );
    assert.deepEqual(f, { protocol: 6, family: 4, src: a("10.0.0.2"), dst: a("10.0.0.1"), dport: 22, line: 1 });
  });

  test("UDP unreplied: the flag sits between the directions", () => {
    const f = only("udp      17 29 src=10.9.0.1 dst=10.9.0.1 sport=44603 dport=5353 [UNREPLIED] src=10.9.0.1 dst=10.9.0.1 sport=5353 dport=44603 mark=0 use=1");
    assert.deepEqual(f, { protocol: 17, family: 4, src: a("10.9.0.1"), dst: a("10.9.0.1"), dport: 5353, line: 1 });
  });

  test("ICMP and ICMPv6 keep the type of the original direction; the id= of the directions is not confused with -o id", () => {
    const v4 = only("icmp     1 29 src=10.9.0.1 dst=10.9.0.1 type=8 code=0 id=9717 src=10.9.0.1 dst=10.9.0.1 type=0 code=0 id=9717 mark=0 use=1 id=2357859121");
    assert.deepEqual(v4, { protocol: 1, family: 4, src: a("10.9.0.1"), dst: a("10.9.0.1"), icmpType: 8, line: 1 });
    const v6 = only("icmpv6   58 29 src=fd00:9::1 dst=fd00:9::2 type=128 code=0 id=9723 src=fd00:9::2 dst=fd00:9::1 type=129 code=0 id=9723 mark=0 use=1");
    assert.deepEqual(v6, { protocol: 58, family: 6, src: a("fd00:9::1"), dst: a("fd00:9::2"), icmpType: 128, line: 1 });
  });

  test("IPv6 TCP", () => {
    const f = only(
      "tcp      6 431999 ESTABLISHED src=2001:db8::2 dst=2001:db8::1 sport=51234 dport=10250 src=2001:db8::1 dst=2001:db8::2 sport=10250 dport=51234 [ASSURED] mark=0 use=1",
    );
    assert.deepEqual(f, { protocol: 6, family: 6, src: a("2001:db8::2"), dst: a("2001:db8::1"), dport: 10250, line: 1 });
  });

  test("DNAT: the reply direction's source and port are where the connection was sent", () => {
    const f = only(
      "tcp      6 431999 ESTABLISHED src=203.0.113.7 dst=10.3.4.5 sport=47962 dport=30080 src=10.244.1.9 dst=203.0.113.7 sport=8080 dport=47962 [ASSURED] mark=0 use=1",
    );
    assert.deepEqual(f, { protocol: 6, family: 4, src: a("203.0.113.7"), dst: a("10.3.4.5"), dport: 30080, natDst: a("10.244.1.9"), natDport: 8080, line: 1 });
    // A port-only redirect keeps the address.
    const r = only(
      "tcp      6 431999 ESTABLISHED src=10.9.0.1 dst=10.9.0.1 sport=47962 dport=30080 src=10.9.0.1 dst=10.9.0.1 sport=8080 dport=47962 [ASSURED] mark=0 use=1",
    );
    assert.equal(r.natDst, undefined);
    assert.equal(r.natDport, 8080);
  });

  test("-o extended prefixes the layer-3 name and number; conntrack -E prefixes the event", () => {
    const ext = only(
      "ipv6     10 udp      17 29 src=fd00:9::1 dst=fd00:9::2 sport=52611 dport=5353 [UNREPLIED] src=fd00:9::2 dst=fd00:9::1 sport=5353 dport=52611 mark=0 use=1",
    );
    assert.equal(ext.family, 6);
    assert.equal(ext.dport, 5353);
    const ev = only(
      "    [NEW] tcp      6 120 SYN_SENT src=10.0.0.2 dst=10.0.0.1 sport=40000 dport=22 [UNREPLIED] src=10.0.0.1 dst=10.0.0.2 sport=22 dport=40000",
    );
    assert.equal(ev.dport, 22);
  });

  test("other protocols: SCTP has ports, GRE and IGMP do not", () => {
    const sctp = only(
      "sctp     132 431999 ESTABLISHED src=10.0.0.2 dst=10.0.0.1 sport=5000 dport=36412 src=10.0.0.1 dst=10.0.0.2 sport=36412 dport=5000 [ASSURED] mark=0 use=1",
    );
    assert.equal(sctp.dport, 36412);
    const gre = only("gre      47 179 src=10.0.0.2 dst=10.0.0.1 srckey=0x0 dstkey=0x0 src=10.0.0.1 dst=10.0.0.2 srckey=0x0 dstkey=0x0 mark=0 use=1");
    assert.deepEqual(gre, { protocol: 47, family: 4, src: a("10.0.0.2"), dst: a("10.0.0.1"), line: 1 });
    const igmp = only("unknown  2 599 src=10.0.0.2 dst=224.0.0.22 [UNREPLIED] src=224.0.0.22 dst=10.0.0.2 mark=0 use=1");
    assert.deepEqual(igmp, { protocol: 2, family: 4, src: a("10.0.0.2"), dst: a("224.0.0.22"), line: 1 });
  });

  test("a pasted table: blank lines, comments and conntrack's summary line are skipped; line numbers are kept", () => {
    const r = parseFlows(
      [
        "# captured on cp1",
        "tcp      6 431999 ESTABLISHED src=10.0.0.2 dst=10.0.0.1 sport=51234 dport=22 src=10.0.0.1 dst=10.0.0.2 sport=22 dport=51234 [ASSURED] mark=0 use=1",
        "",
        "tcp      6 117 TIME_WAIT src=10.0.0.3 dst=10.0.0.1 sport=40100 dport=50000 src=10.0.0.1 dst=10.0.0.3 sport=50000 dport=40100 [ASSURED] mark=0 use=1",
        "conntrack v1.4.7 (conntrack-tools): 2 flow entries have been shown.",
      ].join("\n"),
    );
    assert.deepEqual(r.errors, []);
    assert.deepEqual(
      r.flows.map((f) => [f.line, f.dport]),
      [
        [2, 22],
        [4, 50000],
      ],
    );
  });

  test("broken lines are reported with their line number and the reason", () => {
    const r = parseFlows(
      [
        "tcp      6 431999 ESTABLISHED src=10.0.0.2 dst=10.0.0.1 sport=51234 src=10.0.0.1 dst=10.0.0.2",
        "tcp      6 431999 ESTABLISHED src=10.0.0.256 dst=10.0.0.1 sport=1 dport=2",
        "tcp      6 431999 ESTABLISHED src=10.0.0.2 dst=2001:db8::1 sport=1 dport=2",
        "tcp      6 431999 ESTABLISHED src=10.0.0.2 dst=10.0.0.1 sport=1 dport=70000",
        "tcp      x 1 src=10.0.0.2 dst=10.0.0.1",
        "hello world",
      ].join("\n"),
    );
    assert.equal(r.flows.length, 0);
    assert.deepEqual(r.errors, [
      { line: 1, message: "no dport=" },
      { line: 2, message: 'bad source address "10.0.0.256"' },
      { line: 3, message: "source and destination are of different families" },
      { line: 4, message: 'bad dport= "70000"' },
      { line: 5, message: 'bad protocol number "x"' },
      { line: 6, message: "neither a conntrack -L line nor CSV proto,src,dst,dport" },
    ]);
  });
});

describe("CSV proto,src,dst,dport", () => {
  test("with a header, spaces around fields, names case-insensitive, ICMP without a port", () => {
    const r = parseFlows(
      "proto,src,dst,dport\nTCP, 203.0.113.7 , 10.3.4.5, 10250\nudp,2001:db8::2,2001:db8::1,53\nicmp,203.0.113.7,10.3.4.5,\nicmpv6,2001:db8::2,2001:db8::1\n",
    );
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.flows, [
      { protocol: 6, family: 4, src: a("203.0.113.7"), dst: a("10.3.4.5"), dport: 10250, line: 2 },
      { protocol: 17, family: 6, src: a("2001:db8::2"), dst: a("2001:db8::1"), dport: 53, line: 3 },
      { protocol: 1, family: 4, src: a("203.0.113.7"), dst: a("10.3.4.5"), icmpType: 8, line: 4 },
      { protocol: 58, family: 6, src: a("2001:db8::2"), dst: a("2001:db8::1"), icmpType: 128, line: 5 },
    ]);
  });

  test("errors: unknown protocol, a port for ICMP, a missing port, wrong field count", () => {
    const r = parseFlows("esp,10.0.0.1,10.0.0.2,1\nicmp,10.0.0.1,10.0.0.2,80\ntcp,10.0.0.1,10.0.0.2\ntcp,10.0.0.1\ntcp,10.0.0.1,10.0.0.2,80,90\n");
    assert.deepEqual(r.errors, [
      { line: 1, message: 'unknown protocol "esp"' },
      { line: 2, message: "protocol icmp has no ports: leave dport empty" },
      { line: 3, message: "no destination port" },
      { line: 4, message: "expected proto,src,dst,dport (got 2 fields)" },
      { line: 5, message: "expected proto,src,dst,dport (got 5 fields)" },
    ]);
  });
});
