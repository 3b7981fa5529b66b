// The demo's agent: runs inside one lab namespace (started with `ip netns exec`), listens on the given
// TCP/UDP ports on every address, and runs the probes the demo sends it, from inside that namespace.
// Usage: agent --ifw-demo-agent [--tcp P,P,...] [--udp P,...]
// It exits when its stdin closes (the demo ended or died), unless told to keep running (demo --keep).
import { spawn } from "node:child_process";
import { createSocket, type Socket } from "node:dgram";
import { connect, createServer, type Server } from "node:net";
import { createInterface } from "node:readline";
import type { AgentMessage, AgentRequest, Observed, ProbeRequest } from "./protocol.js";

// After `demo --keep` the demo's end of the pipes is gone: never die of EPIPE.
process.stdout.on("error", () => {});
process.stderr.on("error", () => {});

function send(msg: AgentMessage): void {
  process.stdout.write(JSON.stringify(msg) + "\n");
}

function portList(flag: string): number[] {
  const i = process.argv.indexOf(flag);
  const text = i >= 0 ? process.argv[i + 1] : undefined;
  return text ? text.split(",").map(Number) : [];
}

function listenTcp(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((sock) => {
      sock.on("error", () => {});
      sock.end();
    });
    server.on("error", reject); // only the first call counts: errors after listening change nothing
    // "::" with ipv6Only false is dual-stack: one socket for IPv4 and IPv6.
    server.listen({ port, host: "::", ipv6Only: false }, () => resolve(server));
  });
}

function listenUdp(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = createSocket({ type: "udp6", ipv6Only: false });
    sock.on("message", (msg, rinfo) => sock.send(msg, rinfo.port, rinfo.address));
    sock.on("error", reject); // as above: a failed echo is the prober's timeout, not the agent's end
    sock.bind({ port, address: "::" }, () => resolve(sock));
  });
}

/** Settle once: the first of answer, error or timeout wins; `cleanup` always runs. */
function settleOnce(timeoutMs: number, cleanup: () => void): { promise: Promise<[Observed, string?]>; settle: (o: Observed, detail?: string) => void } {
  let resolve!: (v: [Observed, string?]) => void;
  const promise = new Promise<[Observed, string?]>((r) => (resolve = r));
  let done = false;
  const timer = setTimeout(() => settle("drop"), timeoutMs);
  function settle(o: Observed, detail?: string): void {
    if (done) return;
    done = true;
    clearTimeout(timer);
    cleanup();
    resolve(detail === undefined ? [o] : [o, detail]);
  }
  return { promise, settle };
}

function errorVerdict(e: NodeJS.ErrnoException): [Observed, string] {
  return [e.code === "ECONNREFUSED" ? "refused" : "error", e.code ?? e.message];
}

function probeTcp(r: ProbeRequest): Promise<[Observed, string?]> {
  const sock = connect({ host: r.host, port: r.port });
  const { promise, settle } = settleOnce(r.timeoutMs, () => sock.destroy());
  sock.once("connect", () => settle("open"));
  sock.on("error", (e: NodeJS.ErrnoException) => settle(...errorVerdict(e)));
  return promise;
}

function probeUdp(r: ProbeRequest): Promise<[Observed, string?]> {
  const sock = createSocket(r.host.includes(":") ? "udp6" : "udp4");
  const { promise, settle } = settleOnce(r.timeoutMs, () => sock.close());
  sock.once("message", () => settle("open"));
  // A connected UDP socket reports ICMP port unreachable as ECONNREFUSED.
  sock.on("error", (e: NodeJS.ErrnoException) => settle(...errorVerdict(e)));
  sock.connect(r.port, r.host, () => {
    try {
      sock.send("ifw-demo-probe");
    } catch {
      // already closed by the timeout
    }
  });
  return promise;
}

function probeIcmp(r: ProbeRequest): Promise<[Observed, string?]> {
  const child = spawn("ping", ["-c1", "-n", "-q", "-W", (r.timeoutMs / 1000).toFixed(3), r.host], { stdio: "ignore" });
  // ping bounds itself with -W; the extra second only guards against a hung ping.
  const { promise, settle } = settleOnce(r.timeoutMs + 1000, () => child.kill("SIGKILL"));
  child.once("error", (e: NodeJS.ErrnoException) => settle("error", e.code ?? e.message));
  child.once("exit", (code) => (code === 0 ? settle("open") : code === 1 ? settle("drop") : settle("error", `ping exited with ${code}`)));
  return promise;
}

const PROBES = { tcp: probeTcp, udp: probeUdp, icmp: probeIcmp } as const;

async function main(): Promise<void> {
  try {
    await Promise.all([...portList("--tcp").map(listenTcp), ...portList("--udp").map(listenUdp)]);
  } catch (e) {
    send({ type: "fatal", message: (e as Error).message });
    process.exit(1);
  }
  let keep = false;
  const lines = createInterface({ input: process.stdin });
  lines.on("line", (line) => {
    const req = JSON.parse(line) as AgentRequest;
    if (req.op === "keep") {
      keep = true;
      send({ type: "kept", id: req.id });
      return;
    }
    void PROBES[req.proto](req).then(([observed, detail]) => send({ type: "result", id: req.id, observed, ...(detail === undefined ? {} : { detail }) }));
  });
  lines.on("close", () => {
    if (!keep) process.exit(0);
  });
  send({ type: "ready" });
}

void main();
