// A rule's match expressions compiled to tests over the packet, and what a packet's class (family,
// protocol, conntrack state) alone says about each. Every test is a record of one shape (made by `test`
// below) run by one switch: with thousands of rules, calls through per-test closures cost more than the
// tests themselves, and one shape keeps every load monomorphic.
import type { CtState } from "../compile/ir.js";
import type { Expr } from "../compile/ruleset.js";
import type { Family } from "../net/address.js";
import type { IntervalSet } from "../net/interval.js";
import { addrIndex, bigIntervals, numberIndex, numberIntervals, type AddrKey, type BigIntervals, type NumberIntervals } from "./lookup.js";
import { isIcmp } from "./packet.js";

export const NO_MATCH = 0;
export const MATCH = 1;
/** A reached port test needs transport bytes 2..3 and the packet does not carry them. */
export const NEEDS_TH23 = 2;
export type MatchResult = typeof NO_MATCH | typeof MATCH | typeof NEEDS_TH23;

/**
 * The packet as the tests of one base chain read it: the walk fills it in place for each chain (the
 * destination and transport bytes 2..3 differ between hooks), so tests read one object shape whatever
 * the packet's, and nothing is allocated for it.
 */
export interface Subject {
  family: Family;
  iif: string;
  ctState: CtState;
  protocol: number;
  icmpType: number | undefined;
  readonly src: AddrKey;
  readonly daddr: AddrKey;
  /** Transport bytes 2..3 as this hook sees them; undefined when the packet does not say. */
  th23: number | undefined;
}

const IIFNAME = 0;
const CT_STATE = 1;
const L4PROTO = 2;
const NFPROTO = 3;
const SADDR = 4;
const DADDR = 5;
const DPORT = 6;
const ICMP_TYPE = 7;
const UNHANDLED = 8;
type Op = typeof IIFNAME | typeof CT_STATE | typeof L4PROTO | typeof NFPROTO | typeof SADDR | typeof DADDR | typeof DPORT | typeof ICMP_TYPE | typeof UNHANDLED;

export interface Test {
  readonly op: Op;
  /** iifname: the name is listed (==) or not; addresses: in the set (==) or not. */
  readonly positive: boolean;
  /** l4proto: the protocol; nfproto and addresses: the family. */
  readonly value: number;
  readonly names: readonly string[];
  readonly states: readonly CtState[];
  readonly types: readonly number[];
  readonly ports: NumberIntervals;
  readonly addrs: BigIntervals;
  /** The expression, for the error an unhandled one raises when reached. */
  readonly expr: Expr;
}

const NO_PORTS: NumberIntervals = numberIntervals([]);
const NO_ADDRS: BigIntervals = bigIntervals([]);

function test(op: Op, expr: Expr, fields: Partial<Omit<Test, "op" | "expr">>): Test {
  return {
    op,
    positive: fields.positive ?? true,
    value: fields.value ?? 0,
    names: fields.names ?? [],
    states: fields.states ?? [],
    types: fields.types ?? [],
    ports: fields.ports ?? NO_PORTS,
    addrs: fields.addrs ?? NO_ADDRS,
    expr,
  };
}

/** Expressions that a rule's tests are made of: the others end a rule or are resolved when it is prepared. */
export type MatchExpr = Exclude<Expr, { type: "verdict" | "vmap" | "jump" | "return" | "setLookup" }>;

/** The test of a match expression; null for statements that always match (counter, log, limit). */
export function compileTest(e: MatchExpr): Test | null {
  switch (e.type) {
    case "iifname":
      return test(IIFNAME, e, { names: e.names, positive: e.op === "==" });
    case "ctState":
      return test(CT_STATE, e, { states: e.states });
    case "l4proto":
      return test(L4PROTO, e, { value: e.protocol });
    case "nfproto":
      return test(NFPROTO, e, { value: e.family });
    case "addr": // `bare` only changes how the comparison is spelled, not what it matches
      return addrTest(e, e.set);
    case "dport":
      return test(DPORT, e, { ports: numberIntervals(e.set) });
    case "icmpType":
      return test(ICMP_TYPE, e, { types: e.types });
    case "limit": // matches while under the rate; the rule's action records the limit
    case "counter":
    case "limitRef": // limitRef and log: only in log rules, which have no verdict (never prepared); logging decides nothing
    case "log":
      return null;
    default:
      return test(UNHANDLED, e satisfies never, {});
  }
}

/** Address membership (`ip saddr @set` is the same test on the named set's elements). */
export function addrTest(e: Extract<Expr, { type: "addr" | "setLookup" }>, set: IntervalSet): Test {
  return test(e.field === "saddr" ? SADDR : DADDR, e, { value: e.family, positive: e.type === "setLookup" || e.op === "==", addrs: bigIntervals(set) });
}

/** One test, as the kernel runs the expression. */
export function runTest(t: Test, s: Subject): MatchResult {
  switch (t.op) {
    case IIFNAME:
      return t.names.includes(s.iif) === t.positive ? MATCH : NO_MATCH;
    case CT_STATE:
      return t.states.includes(s.ctState) ? MATCH : NO_MATCH;
    case L4PROTO:
      // `meta l4proto 0` therefore never matches a real TCP/UDP/ICMP packet.
      return s.protocol === t.value ? MATCH : NO_MATCH;
    case NFPROTO:
      return s.family === t.value ? MATCH : NO_MATCH;
    // nft guards a network-header load with its family (`meta nfproto`), so another family never matches.
    case SADDR:
      return s.family === t.value && addrIndex(t.addrs, s.src) >= 0 === t.positive ? MATCH : NO_MATCH;
    case DADDR:
      return s.family === t.value && addrIndex(t.addrs, s.daddr) >= 0 === t.positive ? MATCH : NO_MATCH;
    case DPORT:
      // `th dport` loads transport bytes 2..3 whatever the protocol: the ICMP checksum for ICMP.
      if (s.th23 === undefined) return NEEDS_TH23;
      return numberIndex(t.ports, s.th23) >= 0 ? MATCH : NO_MATCH;
    case ICMP_TYPE:
      // Transport byte 0; for a TCP/UDP packet that would be half of the source port, which no packet here carries.
      if (!isIcmp(s.protocol) || s.icmpType === undefined) {
        throw new Error(`evaluator: an ICMP type test needs an ICMP packet with its type (protocol ${s.protocol})`);
      }
      return t.types.includes(s.icmpType) ? MATCH : NO_MATCH;
    case UNHANDLED:
      throw new Error(`evaluator: unhandled expression ${JSON.stringify(t.expr)}`);
  }
}

/** What a packet's class (family, protocol, conntrack state) alone says about a test. */
export const OPEN = 0;
export const PASSES = 1;
export const FAILS = 2;
export type ClassOutcome = typeof OPEN | typeof PASSES | typeof FAILS;

export function outcomeForClass(t: Test, s: Subject): ClassOutcome {
  switch (t.op) {
    case CT_STATE:
      return t.states.includes(s.ctState) ? PASSES : FAILS;
    case L4PROTO:
      return s.protocol === t.value ? PASSES : FAILS;
    case NFPROTO:
      return s.family === t.value ? PASSES : FAILS;
    case SADDR:
    case DADDR:
      return s.family === t.value ? OPEN : FAILS;
    default:
      return OPEN;
  }
}

/** The test only matches or not: it never needs transport bytes 2..3 nor throws. */
export function isPlain(t: Test): boolean {
  return t.op !== DPORT && t.op !== ICMP_TYPE && t.op !== UNHANDLED;
}
