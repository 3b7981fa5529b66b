// Strict IP address and prefix parsing. Validity is decided by Node's `net` module (no octal,
// no leading zeros in IPv4 octets); the conversion to integers is ours.
import { isIPv4, isIPv6 } from "node:net";

export type Family = 4 | 6;

export const FAMILY_MAX: Record<Family, bigint> = {
  4: (1n << 32n) - 1n,
  6: (1n << 128n) - 1n,
};

export const FAMILY_BITS: Record<Family, number> = { 4: 32, 6: 128 };

export interface Address {
  readonly family: Family;
  readonly value: bigint;
}

/** An IP prefix as written: the address keeps its host bits (Talos keeps `10.0.0.5/8`). */
export interface Prefix {
  readonly family: Family;
  readonly addr: bigint;
  readonly bits: number;
  readonly text: string;
}

export class AddressParseError extends Error {}

/** A valid dotted quad as an integer: the octets are combined as a number, one bigint at the end. */
function ipv4ToBigint(text: string): bigint {
  return BigInt(text.split(".").reduce((acc, part) => acc * 256 + Number(part), 0));
}

/** A valid IPv6 address (net.isIPv6 said so) as an integer: 16-bit words, then four 32-bit bigint steps. */
function ipv6ToBigint(text: string): bigint {
  const words = [0, 0, 0, 0, 0, 0, 0, 0];
  let end = text.length;
  let last = 7;
  if (text.includes(".")) {
    // An embedded dotted quad fills the last two words.
    const start = text.lastIndexOf(":") + 1;
    const v4 = text.slice(start).split(".");
    words[6] = Number(v4[0]) * 256 + Number(v4[1]);
    words[7] = Number(v4[2]) * 256 + Number(v4[3]);
    end = text[start - 2] === ":" ? start : start - 1;
    last = 5;
  }
  const gap = text.indexOf("::");
  const head = gap < 0 ? text.slice(0, end) : text.slice(0, gap);
  const tail = gap < 0 || gap + 2 >= end ? "" : text.slice(gap + 2, end);
  if (head !== "") head.split(":").forEach((g, i) => (words[i] = parseInt(g, 16)));
  if (tail !== "") {
    const groups = tail.split(":");
    groups.forEach((g, i) => (words[last - groups.length + 1 + i] = parseInt(g, 16)));
  }
  let value = 0n;
  for (let k = 0; k < 8; k += 2) value = (value << 32n) | BigInt(words[k]! * 0x10000 + words[k + 1]!);
  return value;
}

/** Parse an address strictly; returns null when it is not a valid IPv4 or IPv6 address (zones rejected). */
export function parseAddress(text: string): Address | null {
  if (isIPv4(text)) return { family: 4, value: ipv4ToBigint(text) };
  if (!text.includes("%") && isIPv6(text)) return { family: 6, value: ipv6ToBigint(text) };
  return null;
}

/**
 * Parse a prefix `addr/bits`. Errors use Go's netip.ParsePrefix wording for the cases Talos users see
 * (`no '/'`); the other reasons are ours.
 */
export function parsePrefix(text: string): Prefix {
  const fail = (reason: string): never => {
    throw new AddressParseError(`netip.ParsePrefix(${JSON.stringify(text)}): ${reason}`);
  };
  const slash = text.lastIndexOf("/");
  if (slash < 0) fail("no '/'");
  const addrText = text.slice(0, slash);
  const bitsText = text.slice(slash + 1);
  if (addrText.includes("%")) fail("IPv6 zones cannot be present in a prefix");
  const addr = parseAddress(addrText);
  if (!addr) {
    // Go's netip wording for the common mistake (and the reason to reject octal-looking octets).
    const leadingZero = /^\d+(\.\d+){3}$/.test(addrText) && addrText.split(".").some((o) => o.length > 1 && o.startsWith("0"));
    fail(`ParseAddr(${JSON.stringify(addrText)}): ${leadingZero ? "IPv4 field has octet with leading zero" : "invalid IP address"}`);
  }
  if (!/^(0|[1-9][0-9]{0,2})$/.test(bitsText)) fail(`bad bits after slash: ${JSON.stringify(bitsText)}`);
  const bits = Number(bitsText);
  if (bits > FAMILY_BITS[addr!.family]) fail(`prefix length out of range`);
  return { family: addr!.family, addr: addr!.value, bits, text };
}

/** Host and network masks by prefix length, built once: prefixRange runs for every prefix of every compile. */
function masks(family: Family): { host: bigint[]; net: bigint[] } {
  const host = Array.from({ length: FAMILY_BITS[family] + 1 }, (_, bits) => (1n << BigInt(FAMILY_BITS[family] - bits)) - 1n);
  return { host, net: host.map((h) => FAMILY_MAX[family] ^ h) };
}

const MASKS: Record<Family, { host: bigint[]; net: bigint[] }> = { 4: masks(4), 6: masks(6) };

/** The host bits of a prefix length (0..FAMILY_BITS[family]). */
export function hostMask(family: Family, bits: number): bigint {
  return MASKS[family].host[bits]!;
}

/** The first and last address of a prefix (host bits masked off). */
export function prefixRange(p: Prefix): { lo: bigint; hi: bigint } {
  const lo = p.addr & MASKS[p.family].net[p.bits]!;
  return { lo, hi: lo | MASKS[p.family].host[p.bits]! };
}

export function hasHostBits(p: Prefix): boolean {
  return (p.addr & hostMask(p.family, p.bits)) !== 0n;
}

/** An IPv4-mapped IPv6 prefix (::ffff:0:0/96 and inside it). */
export function isIPv4Mapped(p: Prefix): boolean {
  return p.family === 6 && p.bits >= 96 && p.addr >> 32n === 0xffffn;
}

export function formatAddress(family: Family, value: bigint): string {
  // Few bigint operations, then plain numbers and strings: compiling and rendering format every address.
  if (family === 4) {
    const v = Number(value);
    return `${v >>> 24}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}`;
  }
  const words = new Array<number>(8);
  for (let k = 0; k < 4; k++) {
    const w = Number(BigInt.asUintN(32, value >> BigInt(96 - 32 * k)));
    words[2 * k] = w >>> 16;
    words[2 * k + 1] = w & 0xffff;
  }
  // Longest run of zero words (length >= 2), as inet_ntop picks it.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) bestStart = -1;
  // inet_ntop prints an embedded IPv4 address for ::a.b.c.d and ::ffff:a.b.c.d.
  if (bestStart === 0 && (bestLen === 6 || (bestLen === 5 && words[5] === 0xffff))) {
    const v4 = formatAddress(4, value & 0xffffffffn);
    return bestLen === 6 ? `::${v4}` : `::ffff:${v4}`;
  }
  let text = "";
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      text += "::";
      i += bestLen - 1;
    } else {
      text += (text === "" || text.endsWith(":") ? "" : ":") + words[i]!.toString(16);
    }
  }
  return text;
}

/** When [lo, hi] is exactly one prefix, its length; otherwise null. */
export function rangeAsPrefixLength(family: Family, lo: bigint, hi: bigint): number | null {
  const size = hi - lo + 1n;
  if ((size & (size - 1n)) !== 0n) return null;
  if ((lo & (size - 1n)) !== 0n) return null;
  // size is a power of two: its binary digits after the leading 1 are the host bits.
  return FAMILY_BITS[family] - (size.toString(2).length - 1);
}
