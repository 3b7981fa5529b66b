// A two-namespace lab for kernel tests: a server namespace (the ruleset goes there) and a client
// namespace joined by a veth pair with IPv4 and IPv6 addresses, plus long-lived node "agents" inside
// each namespace that open listeners and run probes with bounded timeouts. All traffic stays on the
// veth between the two namespaces this lab creates; everything is removed by close().
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after } from "node:test";
import { fileURLToPath } from "node:url";
import { createNetns, deleteNetns } from "./netns.js";

export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** Server side of the veth. */
export const SERVER_V4 = "10.77.0.1";
export const SERVER_V6 = "fd00:77::1";
/** Client addresses: index 0..3 → 10.77.0.2..5 and fd00:77::2..5 (probes choose their source). */
export const CLIENT_V4 = ["10.77.0.2", "10.77.0.3", "10.77.0.4", "10.77.0.5"] as const;
export const CLIENT_V6 = ["fd00:77::2", "fd00:77::3", "fd00:77::4", "fd00:77::5"] as const;

export type ProbeResult = "open" | "refused" | "timeout" | `error:${string}`;

/** The agent's program (CommonJS for `node -e`): JSON requests on stdin, JSON replies on stdout. */
const AGENT = String.raw`
const net = require("net"), dgram = require("dgram"), readline = require("readline");
const reply = (id, result) => process.stdout.write(JSON.stringify({ id, result }) + "\n");
const ops = {
  listenTcp: ({ port }) => new Promise((res, rej) => {
    const s = net.createServer((c) => { c.on("error", () => {}); c.end("hello\n"); });
    s.on("error", rej);
    s.listen({ port, host: "::", ipv6Only: false }, () => res("ok"));
  }),
  listenUdp: ({ port }) => new Promise((res, rej) => {
    const s = dgram.createSocket({ type: "udp6", ipv6Only: false });
    s.on("error", rej);
    s.on("message", (m, r) => s.send(m, r.port, r.address));
    s.bind(port, "::", () => res("ok"));
  }),
  tcp: ({ host, port, localAddress, timeoutMs }) => new Promise((res) => {
    const sock = net.connect({ host, port, localAddress });
    let t, finished = false;
    const done = (r) => { if (finished) return; finished = true; clearTimeout(t); sock.destroy(); res(r); };
    // setImmediate: an I/O event that is already due (a late "connect" on a busy machine) runs first.
    t = setTimeout(() => setImmediate(() => done("timeout")), timeoutMs);
    sock.once("connect", () => done("open"));
    sock.once("error", (e) => done(e.code === "ECONNREFUSED" ? "refused" : "error:" + e.code));
  }),
  udp: ({ host, port, localAddress, timeoutMs }) => new Promise((res) => {
    const s = dgram.createSocket(net.isIPv6(host) ? "udp6" : "udp4");
    let t, finished = false;
    const done = (r) => { if (finished) return; finished = true; clearTimeout(t); try { s.close(); } catch {} res(r); };
    t = setTimeout(() => setImmediate(() => done("timeout")), timeoutMs);
    s.on("message", () => done("open"));
    s.on("error", (e) => done(e.code === "ECONNREFUSED" ? "refused" : "error:" + e.code));
    s.bind(0, localAddress, () => s.connect(port, host, () => s.send("ping")));
  }),
};
readline.createInterface({ input: process.stdin })
  .on("line", async (line) => {
    const { id, op, args } = JSON.parse(line);
    try { reply(id, await ops[op](args)); } catch (e) { reply(id, "error:" + (e.code || e.message)); }
  })
  .on("close", () => process.exit(0));
`;

/** A node process living in one namespace, answering requests in order of completion. */
export class Agent {
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, (r: string) => void>();
  private nextId = 0;

  constructor(readonly netns: string) {
    this.child = spawn("ip", ["netns", "exec", netns, process.execPath, "-e", AGENT], { stdio: ["pipe", "pipe", "inherit"] });
    createInterface({ input: this.child.stdout! }).on("line", (line) => {
      const { id, result } = JSON.parse(line) as { id: number; result: string };
      this.pending.get(id)?.(result);
      this.pending.delete(id);
    });
  }

  /** One request; the wait is bounded by `limitMs` even if the agent never answers. */
  request(op: string, args: Record<string, unknown>, limitMs: number): Promise<string> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`agent in ${this.netns} did not answer ${op} within ${limitMs} ms`));
      }, limitMs);
      this.pending.set(id, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      this.child.stdin!.write(JSON.stringify({ id, op, args }) + "\n");
    });
  }

  async listenTcp(port: number): Promise<void> {
    const r = await this.request("listenTcp", { port }, 5000);
    if (r !== "ok") throw new Error(`listen tcp ${port} in ${this.netns}: ${r}`);
  }

  async listenUdp(port: number): Promise<void> {
    const r = await this.request("listenUdp", { port }, 5000);
    if (r !== "ok") throw new Error(`listen udp ${port} in ${this.netns}: ${r}`);
  }

  tcp(host: string, port: number, localAddress: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<ProbeResult> {
    return this.request("tcp", { host, port, localAddress, timeoutMs }, timeoutMs + 5000) as Promise<ProbeResult>;
  }

  udp(host: string, port: number, localAddress: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<ProbeResult> {
    return this.request("udp", { host, port, localAddress, timeoutMs }, timeoutMs + 5000) as Promise<ProbeResult>;
  }

  close(): void {
    this.child.stdin?.end();
    this.child.kill();
  }
}

/** Long enough for a SYN on a veth (microseconds), short of the 1 s SYN retransmit. */
export const PROBE_TIMEOUT_MS = 800;

function sh(cmd: string, args: readonly string[]): string {
  return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 10_000 });
}

function macOf(netns: string, dev: string): string {
  const [link] = JSON.parse(sh("ip", ["-n", netns, "-j", "link", "show", dev])) as { address: string }[];
  return link!.address;
}

export interface Lab {
  readonly server: string;
  readonly client: string;
  readonly serverAgent: Agent;
  readonly clientAgent: Agent;
  /** Ping the server from a client address; true when a reply came back within 1 s. */
  ping(from: string, to: string): boolean;
  close(): void;
}

/**
 * Two namespaces `<prefix>s-…` / `<prefix>c-…` and a veth pair created directly inside them (no
 * interface ever exists in the host namespace). IPv6 addresses use nodad and static neighbour
 * entries, so no neighbour discovery is needed (block mode rate-limits ICMPv6).
 */
export function createLab(prefix: string): Lab {
  const server = createNetns(`${prefix}s`);
  const client = createNetns(`${prefix}c`);
  sh("ip", ["link", "add", "eth0", "netns", server, "type", "veth", "peer", "name", "eth0", "netns", client]);
  for (const [ns, v4, v6] of [
    [server, [SERVER_V4], [SERVER_V6]],
    [client, CLIENT_V4, CLIENT_V6],
  ] as const) {
    for (const a of v4) sh("ip", ["-n", ns, "addr", "add", `${a}/24`, "dev", "eth0"]);
    for (const a of v6) sh("ip", ["-n", ns, "addr", "add", `${a}/64`, "dev", "eth0", "nodad"]);
    sh("ip", ["-n", ns, "link", "set", "eth0", "up"]);
  }
  const serverMac = macOf(server, "eth0");
  const clientMac = macOf(client, "eth0");
  for (const a of CLIENT_V6) sh("ip", ["-n", server, "neigh", "replace", a, "lladdr", clientMac, "dev", "eth0", "nud", "permanent"]);
  sh("ip", ["-n", client, "neigh", "replace", SERVER_V6, "lladdr", serverMac, "dev", "eth0", "nud", "permanent"]);
  for (const a of CLIENT_V4) sh("ip", ["-n", server, "neigh", "replace", a, "lladdr", clientMac, "dev", "eth0", "nud", "permanent"]);
  sh("ip", ["-n", client, "neigh", "replace", SERVER_V4, "lladdr", serverMac, "dev", "eth0", "nud", "permanent"]);

  const serverAgent = new Agent(server);
  const clientAgent = new Agent(client);
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    serverAgent.close();
    clientAgent.close();
    deleteNetns(server);
    deleteNetns(client);
  };
  process.once("exit", close);
  return {
    server,
    client,
    serverAgent,
    clientAgent,
    ping(from, to) {
      try {
        execFileSync("ip", ["netns", "exec", client, "ping", "-n", "-c", "1", "-W", "1", "-I", from, to], { stdio: "ignore", timeout: 5000 });
        return true;
      } catch {
        return false;
      }
    },
    close,
  };
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Run the ingressfw CLI from source; `asNobody` drops to uid/gid 65534 with setpriv first. */
export function runCli(args: readonly string[], opts: { asNobody?: boolean; env?: NodeJS.ProcessEnv; stdin?: string } = {}): Promise<CliResult> {
  const node = [process.execPath, "--import", "tsx", "src/cli/bin.ts", ...args];
  const [cmd, ...argv] = opts.asNobody ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", ...node] : node;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd!, argv, { cwd: REPO_ROOT, env: { ...process.env, NO_COLOR: "1", ...opts.env }, stdio: ["pipe", "pipe", "pipe"], timeout: 120_000 });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", reject);
    child.on("close", (code, signal) =>
      resolve({ code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }),
    );
    child.stdin.end(opts.stdin ?? "");
  });
}

/** `nft list ruleset` of a namespace (or the host when netns is null), for before/after comparisons. */
export function listRuleset(netns: string | null): string {
  return netns === null ? sh("nft", ["list", "ruleset"]) : sh("ip", ["netns", "exec", netns, "nft", "list", "ruleset"]);
}

/** Run nft inside a namespace; returns stdout. */
export function nftIn(netns: string, args: readonly string[], input?: string): string {
  return execFileSync("ip", ["netns", "exec", netns, "nft", ...args], { input, encoding: "utf8", stdio: ["pipe", "pipe", "pipe"], timeout: 10_000 });
}

export interface IngressEntryYaml {
  readonly subnet: string;
  readonly except?: string;
}

/** A NetworkRuleConfig document. */
export function ruleYaml(
  name: string,
  protocol: "tcp" | "udp" | "icmp" | "icmpv6",
  ports: readonly (number | string)[],
  ingress: readonly IngressEntryYaml[],
): string {
  const entries = ingress.map((e) => `  - subnet: ${e.subnet}${e.except ? `\n    except: ${e.except}` : ""}`).join("\n");
  return `apiVersion: v1alpha1
kind: NetworkRuleConfig
name: ${name}
portSelector:
  ports: [${ports.join(", ")}]
  protocol: ${protocol}
ingress:${ingress.length ? `\n${entries}` : " []"}
`;
}

/** A NetworkDefaultActionConfig document. */
export function defaultActionYaml(action: "accept" | "block"): string {
  return `apiVersion: v1alpha1
kind: NetworkDefaultActionConfig
ingress: ${action}
`;
}

export const yamlStream = (docs: readonly string[]) => docs.join("---\n");

/** A scratch directory for one test file, removed when its tests end; "" when they are skipped. */
export function workDir(name: string, skip: string | false): string {
  const dir = skip ? "" : mkdtempSync(join(tmpdir(), `ingressfw-${name}-`));
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** The documents as one YAML stream in <dir>/<name>.yaml; returns the path. */
export function writeConfig(dir: string, name: string, docs: readonly string[]): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, yamlStream(docs));
  return file;
}
