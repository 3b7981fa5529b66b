// The demo's side of the agents (agent.ts): one child process per lab namespace, started through
// `ip netns exec`, asked for probes over a JSON-lines pipe. Every wait here is bounded.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { extname } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { AGENT_MARKER, type AgentMessage, type AgentRequest, type Observed, type ProbeRequest } from "./protocol.js";

const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 2_000;
/** Added to a probe's own timeout before the demo gives up on the agent's answer. */
const ANSWER_GRACE_MS = 3_000;

// agent.ts beside this module: agent.js in the build, agent.ts when running from sources under tsx
// (process.execArgv carries the loader, e.g. `--import tsx`, to the child).
const AGENT_FILE = fileURLToPath(new URL(`./agent${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

export interface Listen {
  readonly tcp: readonly number[];
  readonly udp: readonly number[];
}

export interface ProbeAnswer {
  readonly observed: Observed;
  readonly detail?: string;
}

interface Pending {
  resolve(msg: AgentMessage): void;
  reject(e: Error): void;
}

export class Agent {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private stderr = "";
  private readonly exited: Promise<void>;
  private hasExited = false;

  private constructor(
    readonly netns: string,
    private readonly child: ChildProcessWithoutNullStreams,
  ) {
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (s: string) => (this.stderr = (this.stderr + s).slice(-2000)));
    child.stdin.on("error", () => {}); // the agent died: its close handler below reports it
    this.exited = new Promise((resolve) => {
      const gone = () => {
        if (this.hasExited) return;
        this.hasExited = true;
        for (const p of this.pending.values()) p.reject(this.failure("exited"));
        this.pending.clear();
        resolve();
      };
      child.once("close", gone);
      child.once("error", gone);
    });
  }

  /** Start an agent in `netns` listening on `listen`; resolves once every port is listening. */
  static async start(netns: string, listen: Listen, signal: AbortSignal): Promise<Agent> {
    const args = ["netns", "exec", netns, process.execPath, ...process.execArgv, AGENT_FILE, AGENT_MARKER];
    if (listen.tcp.length > 0) args.push("--tcp", listen.tcp.join(","));
    if (listen.udp.length > 0) args.push("--udp", listen.udp.join(","));
    // Own process group: a Ctrl-C in the terminal reaches only the demo, which then stops its agents in order.
    const child = spawn("ip", args, { stdio: ["pipe", "pipe", "pipe"], detached: true });
    const agent = new Agent(netns, child);
    const ready = new Promise<void>((resolve, reject) => {
      agent.pending.set(0, { resolve: (m) => (m.type === "fatal" ? reject(agent.failure(m.message)) : resolve()), reject });
    });
    createInterface({ input: child.stdout }).on("line", (line) => agent.onLine(line));
    try {
      await bounded(ready, READY_TIMEOUT_MS, `the agent in ${netns} did not start within ${READY_TIMEOUT_MS / 1000} s`, signal);
    } catch (e) {
      await agent.stop();
      throw e;
    }
    return agent;
  }

  private onLine(line: string): void {
    let msg: AgentMessage;
    try {
      msg = JSON.parse(line) as AgentMessage;
    } catch {
      return; // not ours (e.g. a runtime warning on stdout)
    }
    const id = msg.type === "result" || msg.type === "kept" ? msg.id : 0;
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    p.resolve(msg);
  }

  private failure(what: string): Error {
    const err = this.stderr.trim();
    return new Error(`demo agent in ${this.netns}: ${what}${err ? `: ${err.split("\n").slice(-3).join(" | ")}` : ""}`);
  }

  private request(req: AgentRequest, timeoutMs: number): Promise<AgentMessage> {
    if (this.hasExited) return Promise.reject(this.failure("exited"));
    const answer = new Promise<AgentMessage>((resolve, reject) => this.pending.set(req.id, { resolve, reject }));
    this.child.stdin.write(JSON.stringify(req) + "\n");
    return bounded(answer, timeoutMs, `demo agent in ${this.netns} did not answer within ${timeoutMs} ms`).finally(() => this.pending.delete(req.id));
  }

  /** One probe from inside this agent's namespace. */
  async probe(p: Omit<ProbeRequest, "id" | "op">): Promise<ProbeAnswer> {
    const msg = await this.request({ ...p, id: this.nextId++, op: "probe" }, p.timeoutMs + ANSWER_GRACE_MS);
    if (msg.type !== "result") throw this.failure(`unexpected answer ${msg.type}`);
    return msg.detail === undefined ? { observed: msg.observed } : { observed: msg.observed, detail: msg.detail };
  }

  /** Leave the agent running after the demo exits (demo --keep); `demo --clean` stops it. */
  async detach(): Promise<void> {
    await this.request({ id: this.nextId++, op: "keep" }, ANSWER_GRACE_MS);
    this.child.stdin.destroy();
    this.child.stdout.destroy();
    this.child.stderr.destroy();
    this.child.unref();
  }

  /** Close its stdin (it exits by itself), then SIGKILL if it has not gone within STOP_TIMEOUT_MS. Says which it took. */
  async stop(): Promise<"exited" | "killed"> {
    if (this.hasExited) return "exited";
    this.child.stdin.end();
    let killed = false;
    const timer = setTimeout(() => (killed = this.child.kill("SIGKILL")), STOP_TIMEOUT_MS);
    await this.exited;
    clearTimeout(timer);
    return killed ? "killed" : "exited";
  }
}

/** `promise`, or a rejection after `ms` or when `signal` aborts, whichever comes first. */
export function bounded<T>(promise: Promise<T>, ms: number, message: string, signal?: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => finish(() => reject(signal!.reason));
    const timer = setTimeout(() => finish(() => reject(new Error(message))), ms);
    function finish(then: () => void): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      then();
    }
    if (signal?.aborted) return onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (v) => finish(() => resolve(v)),
      (e: unknown) => finish(() => reject(e)),
    );
  });
}
