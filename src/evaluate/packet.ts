// The packet the evaluator reasons about: what the kernel's expressions read from it at the hooks
// of the input path (prerouting, input).
import type { Family } from "../net/address.js";
import type { CtState } from "../compile/ir.js";

export const PROTO_ICMP = 1;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;
export const PROTO_ICMPV6 = 58;

/** Whether the protocol's transport header carries the destination port at bytes 2..3 (on every decision: no set lookup). */
export function hasPorts(protocol: number): boolean {
  return protocol === PROTO_TCP || protocol === PROTO_UDP || protocol === 33 /* dccp */ || protocol === 132 /* sctp */ || protocol === 136; /* udplite */
}

export function isIcmp(protocol: number): boolean {
  return protocol === PROTO_ICMP || protocol === PROTO_ICMPV6;
}

export interface Packet {
  /** Input interface name (`iifname`). */
  readonly iif: string;
  readonly family: Family;
  readonly src: bigint;
  /** Destination as the input hook sees it (after any DNAT). */
  readonly dst: bigint;
  /** Layer-4 protocol number as `meta l4proto` reports it. */
  readonly protocol: number;
  /** Destination port for TCP/UDP (and other port protocols), as the input hook sees it. */
  readonly dport?: number;
  /** ICMP/ICMPv6 type (transport byte 0); required for ICMP packets. */
  readonly icmpType?: number;
  /**
   * ICMP/ICMPv6 checksum (transport bytes 2..3). A port test in an ICMP rule compares these bytes
   * (Talos #14070); when it is absent and such a test is reached, the verdict is reported per checksum range.
   */
  readonly icmpChecksum?: number;
  readonly ctState: CtState;
  /**
   * Destination before DNAT, when the packet was DNAT'd: prerouting (priority -110, before NAT at -100)
   * sees it; the input hook sees `dst`.
   */
  readonly origDst?: bigint;
  /** Destination port before DNAT (NodePort); defaults to `dport`. */
  readonly origDport?: number;
  /** The translated destination is not local: the packet is forwarded and meets only the prerouting hook. */
  readonly forwarded?: boolean;
}

/**
 * Transport bytes 2..3 — what `th dport` compares: the destination port for port protocols, the checksum
 * for ICMP. undefined when the packet does not say.
 */
export function transportBytes23(p: Packet): number | undefined {
  if (hasPorts(p.protocol)) return p.dport;
  if (isIcmp(p.protocol)) return p.icmpChecksum;
  return undefined;
}

/** What the unknown transport bytes 2..3 are called in explanations. */
export function transportBytes23Name(protocol: number): "dport" | "icmp-checksum" | "transport-bytes-2-3" {
  if (hasPorts(protocol)) return "dport";
  if (isIcmp(protocol)) return "icmp-checksum";
  return "transport-bytes-2-3";
}
