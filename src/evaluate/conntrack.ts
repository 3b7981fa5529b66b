// Flows as `conntrack -L` prints them (also `-o extended`, `-o id` and `conntrack -E` event lines),
// or as CSV `proto,src,dst,dport` with an optional header. Only what ingress filtering depends on is
// kept: the original direction, and where a DNAT sent the connection (the reply direction's source).
import { parseAddress, type Family } from "../net/address.js";
import { PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP, hasPorts, isIcmp } from "./packet.js";

export interface Flow {
  readonly protocol: number;
  readonly family: Family;
  readonly src: bigint;
  /** Original destination: what the client connected to. */
  readonly dst: bigint;
  /** Original destination port (port protocols). */
  readonly dport?: number;
  /** ICMP/ICMPv6 type of the original direction. */
  readonly icmpType?: number;
  /** The reply direction's source when it differs from dst: the connection was DNAT'd to it. */
  readonly natDst?: bigint;
  readonly natDport?: number;
  /** 1-based line in its input. */
  readonly line: number;
}

export interface FlowParseError {
  readonly line: number;
  readonly message: string;
}

export interface ParsedFlows {
  readonly flows: Flow[];
  readonly errors: FlowParseError[];
}

const CSV_PROTOCOLS: Record<string, number> = { tcp: PROTO_TCP, udp: PROTO_UDP, icmp: PROTO_ICMP, icmpv6: PROTO_ICMPV6 };
/** conntrack's own closing line (on stderr, but often pasted along). */
const SUMMARY = /^conntrack v[\d.]+ \(conntrack-tools\):/;
const DEFAULT_ICMP_TYPE: Record<number, number> = { [PROTO_ICMP]: 8, [PROTO_ICMPV6]: 128 };

class LineError extends Error {}

function fail(message: string): never {
  throw new LineError(message);
}

function int(text: string | undefined, what: string, max: number): number {
  if (text === undefined) fail(`no ${what}`);
  if (!/^[0-9]+$/.test(text) || Number(text) > max) fail(`bad ${what} ${JSON.stringify(text)}`);
  return Number(text);
}

function address(text: string | undefined, what: string) {
  if (text === undefined) fail(`no ${what}`);
  const a = parseAddress(text);
  if (!a) fail(`bad ${what} address ${JSON.stringify(text)}`);
  return a;
}

function conntrackLine(text: string, line: number): Flow {
  let tokens = text.split(/\s+/).filter((t) => t !== "");
  while (tokens[0]?.startsWith("[")) tokens = tokens.slice(1); // `conntrack -E` event type, timestamps
  if ((tokens[0] === "ipv4" || tokens[0] === "ipv6") && /^[0-9]+$/.test(tokens[1] ?? "")) tokens = tokens.slice(2); // -o extended
  const protocol = int(tokens[1], "protocol number", 255);
  // Directions: each starts at `src=`; the first is the original, the second the reply. Other tokens
  // (timeout, TCP state, [ASSURED], mark=, use=, id=) carry nothing the firewall reads.
  const dirs: Map<string, string>[] = [];
  for (const tok of tokens.slice(2)) {
    const eq = tok.indexOf("=");
    if (eq <= 0) continue;
    const key = tok.slice(0, eq);
    if (key === "src") dirs.push(new Map());
    const cur = dirs[dirs.length - 1];
    if (cur && !cur.has(key)) cur.set(key, tok.slice(eq + 1));
  }
  const orig = dirs[0];
  if (!orig) fail("no src=");
  const src = address(orig.get("src"), "source");
  const dst = address(orig.get("dst"), "destination");
  if (src.family !== dst.family) fail("source and destination are of different families");
  const reply = dirs[1];
  const replySrc = reply?.get("src") !== undefined ? address(reply.get("src"), "reply source") : null;
  const flow: { -readonly [K in keyof Flow]: Flow[K] } = { protocol, family: src.family, src: src.value, dst: dst.value, line };
  if (replySrc && replySrc.value !== dst.value) flow.natDst = replySrc.value;
  if (hasPorts(protocol)) {
    flow.dport = int(orig.get("dport"), "dport=", 65535);
    const replySport = reply?.get("sport");
    if (replySport !== undefined) {
      const natDport = int(replySport, "reply sport=", 65535);
      if (natDport !== flow.dport) flow.natDport = natDport;
    }
  } else if (isIcmp(protocol)) {
    flow.icmpType = int(orig.get("type"), "ICMP type=", 255);
  }
  return flow;
}

function csvLine(text: string, line: number): Flow | null {
  const fields = text.split(",").map((f) => f.trim());
  if (fields[0]!.toLowerCase() === "proto") return null; // header
  if (fields.length < 3 || fields.length > 4) fail(`expected proto,src,dst,dport (got ${fields.length} fields)`);
  const [protoText, srcText, dstText, portText = ""] = fields as [string, string, string, string?];
  const protocol =
    CSV_PROTOCOLS[protoText.toLowerCase()] ??
    (/^[0-9]+$/.test(protoText) ? int(protoText, "protocol", 255) : fail(`unknown protocol ${JSON.stringify(protoText)}`));
  const src = address(srcText, "source");
  const dst = address(dstText, "destination");
  if (src.family !== dst.family) fail("source and destination are of different families");
  const flow: { -readonly [K in keyof Flow]: Flow[K] } = { protocol, family: src.family, src: src.value, dst: dst.value, line };
  if (hasPorts(protocol)) flow.dport = int(portText || undefined, "destination port", 65535);
  else if (portText !== "") fail(`protocol ${protoText} has no ports: leave dport empty`);
  const icmpType = DEFAULT_ICMP_TYPE[protocol];
  if (icmpType !== undefined) flow.icmpType = icmpType; // a CSV flow is a new connection: an echo request
  return flow;
}

/** Parse a flow table; every line that is neither blank, a comment, a header nor a flow is reported. */
export function parseFlows(text: string): ParsedFlows {
  const flows: Flow[] = [];
  const errors: FlowParseError[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = i + 1;
    const t = raw.trim();
    if (t === "" || t.startsWith("#") || SUMMARY.test(t)) return;
    try {
      if (t.includes("=")) flows.push(conntrackLine(t, line));
      else if (t.includes(",")) {
        const f = csvLine(t, line);
        if (f) flows.push(f);
      } else fail("neither a conntrack -L line nor CSV proto,src,dst,dport");
    } catch (e) {
      if (!(e instanceof LineError)) throw e;
      errors.push({ line, message: e.message });
    }
  });
  return { flows, errors };
}
