// Decoding NFLOG messages as libpcap delivers them (`tcpdump -i nflog:N -w -`, link type DLT_NFLOG 239):
// a pcap stream whose records are an nflog header and TLVs (prefix, input interface, hook, payload), and
// the IPv4/IPv6 + TCP/UDP/ICMP headers inside the payload. Pure and incremental (chunks of any size).

export const DLT_NFLOG = 239;

/** One NFLOG message: what the kernel's `log group` statement sent. */
export interface NflogRecord {
  /** When the kernel logged it (NFULA_TIMESTAMP, else the capture time), in milliseconds since the epoch. */
  readonly timeMs: number;
  /** NFPROTO_* of the hook (2 inet/ipv4, 10 ipv6). */
  readonly family: number;
  readonly group: number;
  readonly prefix: string | null;
  readonly inIfindex: number | null;
  /** Netfilter hook number (0 prerouting, 1 input). */
  readonly hook: number | null;
  /** The network-layer packet (as much as was copied). */
  readonly payload: Uint8Array;
}

export class PcapFormatError extends Error {}

const MAGIC_US = 0xa1b2c3d4;
const MAGIC_NS = 0xa1b23c4d;

/** TLV types of nfnetlink_log (linux/netfilter/nfnetlink_log.h). */
const NFULA_PACKET_HDR = 1;
const NFULA_TIMESTAMP = 3;
const NFULA_IFINDEX_INDEV = 4;
const NFULA_PAYLOAD = 9;
const NFULA_PREFIX = 10;

/** Incremental pcap reader for a DLT_NFLOG stream; `push` returns the records completed by a chunk. */
export class NflogPcapParser {
  private buf: Buffer = Buffer.alloc(0);
  private little: boolean | null = null;
  private nanos = false;

  push(chunk: Buffer): NflogRecord[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: NflogRecord[] = [];
    if (this.little === null) {
      if (this.buf.length < 24) return out;
      this.readGlobalHeader();
    }
    let off = 0;
    while (this.buf.length - off >= 16) {
      const u32 = (at: number) => (this.little ? this.buf.readUInt32LE(at) : this.buf.readUInt32BE(at));
      const sec = u32(off);
      const frac = u32(off + 4);
      const caplen = u32(off + 8);
      if (caplen > 1 << 24) throw new PcapFormatError(`pcap record of ${caplen} bytes`);
      if (this.buf.length - off - 16 < caplen) break;
      const data = this.buf.subarray(off + 16, off + 16 + caplen);
      const timeMs = sec * 1000 + (this.nanos ? frac / 1e6 : frac / 1e3);
      const rec = parseNflogMessage(data, timeMs);
      if (rec) out.push(rec);
      off += 16 + caplen;
    }
    this.buf = this.buf.subarray(off);
    return out;
  }

  private readGlobalHeader(): void {
    const le = this.buf.readUInt32LE(0);
    const be = this.buf.readUInt32BE(0);
    if (le === MAGIC_US || le === MAGIC_NS) this.little = true;
    else if (be === MAGIC_US || be === MAGIC_NS) this.little = false;
    else throw new PcapFormatError(`not a pcap stream (magic ${be.toString(16)})`);
    this.nanos = (this.little ? le : be) === MAGIC_NS;
    const linktype = this.little ? this.buf.readUInt32LE(20) : this.buf.readUInt32BE(20);
    if (linktype !== DLT_NFLOG) throw new PcapFormatError(`pcap link type ${linktype}, expected NFLOG (${DLT_NFLOG})`);
    this.buf = this.buf.subarray(24);
  }
}

/**
 * One DLT_NFLOG record: family (u8), version (u8), resource id = group (u16 big-endian), then TLVs whose
 * length and type are in host (little-endian here) order and whose values are padded to 4 bytes.
 */
export function parseNflogMessage(data: Uint8Array, captureMs: number): NflogRecord | null {
  if (data.length < 4) return null;
  let timeMs = captureMs;
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  let prefix: string | null = null;
  let inIfindex: number | null = null;
  let hook: number | null = null;
  let payload: Uint8Array = new Uint8Array(0);
  let off = 4;
  while (off + 4 <= b.length) {
    const len = b.readUInt16LE(off);
    const type = b.readUInt16LE(off + 2) & 0x7fff; // the top bit is NLA_F_NESTED
    if (len < 4 || off + len > b.length) break;
    const value = b.subarray(off + 4, off + len);
    if (type === NFULA_PREFIX) prefix = value.toString("latin1").replace(/\0.*$/s, "");
    else if (type === NFULA_IFINDEX_INDEV && value.length >= 4) inIfindex = value.readUInt32BE(0);
    else if (type === NFULA_PACKET_HDR && value.length >= 3) hook = value[2]!;
    else if (type === NFULA_PAYLOAD) payload = value;
    // The kernel's time of the log: libpcap's record time is when the (possibly batched) message arrived.
    else if (type === NFULA_TIMESTAMP && value.length >= 16) timeMs = Number(value.readBigUInt64BE(0)) * 1000 + Number(value.readBigUInt64BE(8)) / 1000;
    off += (len + 3) & ~3;
  }
  return { timeMs, family: b[0]!, group: b.readUInt16BE(2), prefix, inIfindex, hook, payload };
}

export interface PacketHeaders {
  readonly family: 4 | 6;
  readonly src: string;
  readonly dst: string;
  readonly protocol: number;
  readonly sport: number | null;
  readonly dport: number | null;
  readonly icmpType: number | null;
}

function ipv6Text(b: Buffer, at: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) groups.push(b.readUInt16BE(at + 2 * i).toString(16));
  // RFC 5952: the longest run (of two or more) of zero groups becomes `::`.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && groups[j] === "0") j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  if (best < 0) return groups.join(":");
  return `${groups.slice(0, best).join(":")}::${groups.slice(best + bestLen).join(":")}`;
}

/** Extension headers skipped to find the transport header (hop-by-hop, routing, destination options). */
const IPV6_EXTENSIONS = new Set([0, 43, 60]);

/** The addresses, protocol and ports of a network-layer packet; null when it is too short or not IP. */
export function parsePacketHeaders(payload: Uint8Array): PacketHeaders | null {
  const b = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  if (b.length < 1) return null;
  const version = b[0]! >> 4;
  let family: 4 | 6;
  let src: string;
  let dst: string;
  let protocol: number;
  let l4: number;
  if (version === 4) {
    if (b.length < 20) return null;
    family = 4;
    l4 = (b[0]! & 0x0f) * 4;
    protocol = b[9]!;
    src = [...b.subarray(12, 16)].join(".");
    dst = [...b.subarray(16, 20)].join(".");
    // A non-first fragment carries no transport header.
    if ((b.readUInt16BE(6) & 0x1fff) !== 0) return { family, src, dst, protocol, sport: null, dport: null, icmpType: null };
  } else if (version === 6) {
    if (b.length < 40) return null;
    family = 6;
    src = ipv6Text(b, 8);
    dst = ipv6Text(b, 24);
    protocol = b[6]!;
    l4 = 40;
    for (let n = 0; n < 8 && IPV6_EXTENSIONS.has(protocol) && b.length >= l4 + 2; n++) {
      protocol = b[l4]!;
      l4 += (b[l4 + 1]! + 1) * 8;
    }
  } else return null;
  const t = b.subarray(l4);
  const ports = (protocol === 6 || protocol === 17) && t.length >= 4;
  const icmp = (protocol === 1 || protocol === 58) && t.length >= 1;
  return {
    family,
    src,
    dst,
    protocol,
    sport: ports ? t.readUInt16BE(0) : null,
    dport: ports ? t.readUInt16BE(2) : null,
    icmpType: icmp ? t[0]! : null,
  };
}
