// Pure parts of logs and trace: the pcap/NFLOG decoder (byte layouts as tcpdump writes them, checked
// against a capture in the kernel tests), drop events and their attribution, the journal, and the
// parsing of `nft -a monitor` trace lines into per-packet paths.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { attributionsFromNotes, dropEventOf, dropEventText } from "./drop-event.js";
import { appendEvent, readEvents } from "./journal.js";
import { NflogPcapParser, PcapFormatError, parsePacketHeaders } from "./nflog-packet.js";
import { parseTraceLine, summarizePacket, traceChainCommands, TraceCollector, tracedPacketText } from "./trace.js";
import { parseFrom } from "./trace.js";

function tlv(type: number, value: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16LE(4 + value.length, 0);
  head.writeUInt16LE(type, 2);
  const pad = Buffer.alloc((4 - (value.length % 4)) % 4);
  return Buffer.concat([head, value, pad]);
}

function be32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

function ipv4Tcp(src: number[], dst: number[], sport: number, dport: number): Buffer {
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip[9] = 6;
  Buffer.from(src).copy(ip, 12);
  Buffer.from(dst).copy(ip, 16);
  const tcp = Buffer.alloc(20);
  tcp.writeUInt16BE(sport, 0);
  tcp.writeUInt16BE(dport, 2);
  return Buffer.concat([ip, tcp]);
}

function ipv6Udp(sport: number, dport: number): Buffer {
  const ip = Buffer.alloc(40);
  ip[0] = 0x60;
  ip[6] = 17;
  Buffer.from("fd000077000000000000000000000002", "hex").copy(ip, 8);
  Buffer.from("fd000077000000000000000000000001", "hex").copy(ip, 24);
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(sport, 0);
  udp.writeUInt16BE(dport, 2);
  return Buffer.concat([ip, udp]);
}

function nflogMessage(o: { group: number; prefix: string; ifindex: number; hook: number; payload: Buffer; timestamp?: [number, number] }): Buffer {
  const hdr = Buffer.from([0x08, 0x00, o.hook, 0x00]);
  const parts = [Buffer.from([2, 0]), Buffer.alloc(2), tlv(1, hdr), tlv(10, Buffer.from(o.prefix + "\0", "latin1")), tlv(4, be32(o.ifindex))];
  parts[1]!.writeUInt16BE(o.group);
  if (o.timestamp) {
    const ts = Buffer.alloc(16);
    ts.writeBigUInt64BE(BigInt(o.timestamp[0]), 0);
    ts.writeBigUInt64BE(BigInt(o.timestamp[1]), 8);
    parts.push(tlv(3, ts));
  }
  parts.push(tlv(9, o.payload));
  return Buffer.concat(parts);
}

function pcap(records: { sec: number; usec: number; data: Buffer }[], linktype = 239): Buffer {
  const g = Buffer.alloc(24);
  g.writeUInt32LE(0xa1b2c3d4, 0);
  g.writeUInt16LE(2, 4);
  g.writeUInt16LE(4, 6);
  g.writeUInt32LE(262144, 16);
  g.writeUInt32LE(linktype, 20);
  return Buffer.concat([
    g,
    ...records.flatMap((r) => {
      const h = Buffer.alloc(16);
      h.writeUInt32LE(r.sec, 0);
      h.writeUInt32LE(r.usec, 4);
      h.writeUInt32LE(r.data.length, 8);
      h.writeUInt32LE(r.data.length, 12);
      return [h, r.data];
    }),
  ]);
}

const RULE_MSG = nflogMessage({
  group: 100,
  prefix: "ingressfw drop NetworkRuleConfig/ssh: ",
  ifindex: 2,
  hook: 1,
  payload: ipv4Tcp([10, 77, 0, 2], [10, 77, 0, 1], 40000, 22),
  timestamp: [1_700_000_000, 250_000],
});
const POLICY_MSG = nflogMessage({ group: 100, prefix: "ingressfw drop policy: ", ifindex: 9, hook: 0, payload: ipv6Udp(5000, 53) });

describe("NFLOG pcap stream", () => {
  const stream = pcap([
    { sec: 1_700_000_001, usec: 0, data: RULE_MSG },
    { sec: 1_700_000_002, usec: 500_000, data: POLICY_MSG },
  ]);

  it("decodes records split at any byte", () => {
    for (let cut = 1; cut < stream.length; cut += 7) {
      const p = new NflogPcapParser();
      const recs = [...p.push(stream.subarray(0, cut)), ...p.push(stream.subarray(cut))];
      assert.equal(recs.length, 2, `cut at ${cut}`);
      assert.deepEqual(
        recs.map((r) => [r.group, r.prefix, r.inIfindex, r.hook, r.timeMs]),
        [
          [100, "ingressfw drop NetworkRuleConfig/ssh: ", 2, 1, 1_700_000_000_250],
          [100, "ingressfw drop policy: ", 9, 0, 1_700_000_002_500],
        ],
      );
    }
  });

  it("rejects a stream of another link type", () => {
    assert.throws(() => new NflogPcapParser().push(pcap([], 1)), PcapFormatError);
    assert.throws(() => new NflogPcapParser().push(Buffer.alloc(24, 7)), PcapFormatError);
  });

  it("reads IPv4/TCP and IPv6/UDP headers", () => {
    assert.deepEqual(parsePacketHeaders(ipv4Tcp([10, 0, 0, 2], [10, 0, 0, 1], 1234, 443)), {
      family: 4,
      src: "10.0.0.2",
      dst: "10.0.0.1",
      protocol: 6,
      sport: 1234,
      dport: 443,
      icmpType: null,
    });
    assert.deepEqual(parsePacketHeaders(ipv6Udp(5000, 53)), {
      family: 6,
      src: "fd00:77::2",
      dst: "fd00:77::1",
      protocol: 17,
      sport: 5000,
      dport: 53,
      icmpType: null,
    });
    assert.equal(parsePacketHeaders(Buffer.from([0x45, 0])), null);
  });
});

describe("drop events", () => {
  const notes = [
    {
      rules: [
        {
          text: 'ip saddr != { 10.0.0.0/8 } tcp dport 22 limit name "drop-log" log prefix "ingressfw drop NetworkRuleConfig/ssh: " group 100',
          origin: "NetworkRuleConfig/ssh",
          pos: { file: "f.yaml", line: 9, col: 1 },
        },
        { text: 'limit name "drop-log" log prefix "ingressfw drop policy: " group 100', origin: "policy-drop-log", pos: null },
      ],
    },
  ];
  const [rule, policy] = new NflogPcapParser().push(
    pcap([
      { sec: 1, usec: 0, data: RULE_MSG },
      { sec: 2, usec: 0, data: POLICY_MSG },
    ]),
  );

  it("carry interface, addresses, ports and the deciding document with its position", () => {
    const e = dropEventOf(rule!, new Map([[2, "eth0"]]), attributionsFromNotes(notes))!;
    assert.deepEqual(e, {
      time: "2023-11-14T22:13:20.250Z",
      hook: "input",
      iface: "eth0",
      family: "ipv4",
      src: "10.77.0.2",
      dst: "10.77.0.1",
      protocol: "tcp",
      sport: 40000,
      dport: 22,
      icmpType: null,
      rule: "NetworkRuleConfig/ssh",
      document: "NetworkRuleConfig/ssh",
      pos: { file: "f.yaml", line: 9, col: 1 },
    });
    assert.equal(dropEventText(e), "2023-11-14T22:13:20.250Z drop tcp 10.77.0.2:40000 -> 10.77.0.1:22 on eth0 (input) by NetworkRuleConfig/ssh (f.yaml:9:1)");
  });

  it("name the default action for the policy; an unknown interface by index; other prefixes are not ours", () => {
    const e = dropEventOf(policy!, new Map(), new Map())!;
    assert.equal(e.document, "NetworkDefaultActionConfig");
    assert.equal(
      dropEventText(e),
      "1970-01-01T00:00:02.000Z drop udp [fd00:77::2]:5000 -> [fd00:77::1]:53 on if9 (prerouting) by NetworkDefaultActionConfig (block: no rule admits it)",
    );
    assert.equal(dropEventOf({ ...policy!, prefix: "other: " }, new Map(), new Map()), null);
  });

  it("are journaled as JSON lines, read back since a time, and rotated past the size bound", () => {
    const dir = mkdtempSync(join(tmpdir(), "ingressfw-journal-"));
    try {
      const file = join(dir, "drops.jsonl");
      assert.equal(readEvents(file), null);
      const e = dropEventOf(rule!, new Map(), new Map())!;
      for (let i = 0; i < 5; i++) appendEvent(file, { ...e, time: new Date(Date.UTC(2024, 0, 1, 0, i)).toISOString() }, 900);
      const all = readEvents(file)!;
      assert.equal(all.length >= 3 && all.length <= 5, true, `kept ${all.length}`);
      assert.deepEqual(
        readEvents(file, Date.UTC(2024, 0, 1, 0, 3))!.map((x) => x.time),
        ["2024-01-01T00:03:00.000Z", "2024-01-01T00:04:00.000Z"],
      );
      writeFileSync(file, '{"time":"2024-01-01T00:05:00.000Z"}\n{"cut', { flag: "a" });
      assert.equal(readEvents(file, Date.UTC(2024, 0, 1, 0, 5))!.length, 1, "a cut last line is skipped");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("trace", () => {
  const T = "trace id 6f4491ff inet talos";
  const lines = [
    `${T} trace-77 packet: iif "eth0" ether saddr b6:2c:5d:35:6d:d3 ip saddr 10.88.0.2 ip daddr 10.88.0.1 ip protocol tcp tcp sport 46594 tcp dport 7001 tcp flags == syn`,
    `${T} trace-77 rule ip saddr 10.88.0.2 meta nftrace set 1 # handle 5 (verdict continue)`,
    `${T} trace-77 policy accept `,
    `${T} prerouting packet: iif "eth0" ip saddr 10.88.0.2 ip daddr 10.88.0.1 ip protocol tcp tcp sport 46594 tcp dport 7001`,
    `${T} prerouting rule ct state new meta l4proto tcp limit name "drop-log" log prefix "ingressfw drop policy: " group 100 # handle 19 (verdict continue)`,
    `${T} prerouting rule ct state new meta l4proto tcp counter packets 3 bytes 180 drop # handle 20 (verdict drop)`,
    "trace id 1 inet other ingress policy drop",
    "add chain inet talos trace-77 { type filter hook prerouting priority -350; policy accept; } # handle 24",
  ];

  it("parses monitor lines of our table only", () => {
    const events = lines.map((l) => parseTraceLine(l, "inet", "talos"));
    assert.deepEqual(
      events.map((e) => e && `${e.chain}:${e.kind}`),
      ["trace-77:packet", "trace-77:rule", "trace-77:policy", "prerouting:packet", "prerouting:rule", "prerouting:rule", null, null],
    );
    assert.deepEqual(events[5], {
      id: "6f4491ff",
      chain: "prerouting",
      kind: "rule",
      text: "ct state new meta l4proto tcp counter drop",
      handle: 20,
      verdict: "drop",
    });
  });

  it("groups a packet's path, leaves the tracing chain out and names the deciding document", () => {
    const byHandle = new Map([[20, { chain: "prerouting", index: 6, origin: "new-tcp-drop", pos: null }]]);
    const c = new TraceCollector("trace-77", (h) => byHandle.get(h) ?? null);
    for (const l of lines) {
      const e = parseTraceLine(l, "inet", "talos");
      if (e) c.add(e);
    }
    assert.equal(c.dropped("6f4491ff"), true);
    const p = c.take("6f4491ff")!;
    assert.equal(p.verdict, "drop");
    assert.equal(p.steps.length, 2);
    assert.deepEqual(tracedPacketText(p, 1), [
      "packet 1: tcp 10.88.0.2:46594 -> 10.88.0.1:7001 iif eth0",
      '  prerouting: matched (no verdict): ct state new meta l4proto tcp limit name "drop-log" log prefix "ingressfw drop policy: " group 100  [not part of the last apply]',
      "  prerouting: drop: ct state new meta l4proto tcp counter drop  [rule 6 of prerouting, new-tcp-drop (NetworkDefaultActionConfig: block)]",
      "  verdict: drop by rule 6 of prerouting, new-tcp-drop (NetworkDefaultActionConfig: block)",
    ]);
    assert.deepEqual(c.ids(), []);
  });

  it("an accepted packet is decided by the last chain's accept; a policy drop names the default action", () => {
    const c = new TraceCollector("trace-1", () => ({ chain: "ingress", index: 7, origin: "NetworkRuleConfig/web", pos: { file: "r.yaml", line: 5, col: 1 } }));
    c.add({ id: "a", chain: "prerouting", kind: "rule", text: "… accept", handle: 3, verdict: "accept" });
    c.add({ id: "a", chain: "ingress", kind: "rule", text: "… accept", handle: 4, verdict: "accept" });
    c.add({ id: "b", chain: "ingress", kind: "policy", verdict: "drop" });
    assert.equal(c.dropped("a"), false);
    assert.equal(tracedPacketText(c.take("a")!, 1).at(-1), "  verdict: accept by rule 7 of ingress, NetworkRuleConfig/web (r.yaml:5:1)");
    assert.equal(tracedPacketText(c.take("b")!, 2).at(-1), "  verdict: drop by policy of chain ingress: NetworkDefaultActionConfig (block)");
  });

  it("summarises IPv6 packets and builds the tracing chain's commands", () => {
    assert.equal(
      summarizePacket('iif "eth0" ip6 saddr fd00::2 ip6 daddr fd00::1 ip6 nexthdr udp udp sport 5 udp dport 53'),
      "udp [fd00::2]:5 -> [fd00::1]:53 iif eth0",
    );
    assert.equal(
      traceChainCommands("talos", "trace-9", { from: parseFrom("10.1.2.3/8"), port: 22 }),
      "add chain inet talos trace-9 { type filter hook prerouting priority -350; policy accept; }\n" +
        "add rule inet talos trace-9 ip saddr 10.0.0.0/8 meta l4proto { tcp, udp } th dport 22 meta nftrace set 1\n",
    );
    assert.equal(
      traceChainCommands("t", "trace-1", { from: parseFrom("fd00::5") }).split("\n")[1],
      "add rule inet t trace-1 ip6 saddr fd00::5/128 meta nftrace set 1",
    );
  });
});
