// Set elements as nft spells them: an aligned range as a prefix, one value alone, else `lo-hi`.
import { formatAddress, rangeAsPrefixLength, type Family } from "../net/address.js";
import type { Interval, IntervalSet } from "../net/interval.js";

export type AddrElement =
  | { readonly kind: "single"; readonly addr: string }
  | { readonly kind: "prefix"; readonly addr: string; readonly len: number }
  | { readonly kind: "range"; readonly lo: string; readonly hi: string };

export function addrElement(family: Family, iv: Interval): AddrElement {
  if (iv.lo === iv.hi) return { kind: "single", addr: formatAddress(family, iv.lo) };
  const len = rangeAsPrefixLength(family, iv.lo, iv.hi);
  if (len !== null) return { kind: "prefix", addr: formatAddress(family, iv.lo), len };
  return { kind: "range", lo: formatAddress(family, iv.lo), hi: formatAddress(family, iv.hi) };
}

export function addrElements(family: Family, set: IntervalSet): AddrElement[] {
  return set.map((iv) => addrElement(family, iv));
}

export function addrElementText(e: AddrElement): string {
  return e.kind === "single" ? e.addr : e.kind === "prefix" ? `${e.addr}/${e.len}` : `${e.lo}-${e.hi}`;
}

export function portElementText(iv: Interval): string {
  return iv.lo === iv.hi ? String(iv.lo) : `${iv.lo}-${iv.hi}`;
}

export const PROTOCOL_NFT_NAMES: Record<number, string> = { 1: "icmp", 6: "tcp", 17: "udp", 58: "ipv6-icmp" };

export const ICMP_TYPE_NAMES: Record<number, string> = {
  0: "echo-reply",
  3: "destination-unreachable",
  5: "redirect",
  8: "echo-request",
  11: "time-exceeded",
  13: "timestamp-request",
  14: "timestamp-reply",
  17: "address-mask-request",
  18: "address-mask-reply",
};

/** nft's standard priority names for the inet family; printed as the nearest name ± offset. */
const PRIORITY_NAMES: readonly [string, number][] = [
  ["raw", -300],
  ["mangle", -150],
  ["dstnat", -100],
  ["filter", 0],
  ["security", 50],
  ["srcnat", 100],
];

export function priorityText(priority: number): string {
  let best = PRIORITY_NAMES[0]!;
  for (const p of PRIORITY_NAMES) if (Math.abs(priority - p[1]) < Math.abs(priority - best[1])) best = p;
  const off = priority - best[1];
  return off === 0 ? best[0] : `${best[0]} ${off > 0 ? "+" : "-"} ${Math.abs(off)}`;
}
