// Real `ingressfw daemon` processes for kernel tests: spawned from source with JSON logs, their log
// events collected, every wait bounded, and every process killed when the test process exits.
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { REPO_ROOT } from "./lab.js";

export interface LogEvent {
  readonly time: string;
  readonly level: string;
  readonly event: string;
  readonly message: string;
  readonly [field: string]: unknown;
}

const running = new Set<ChildProcess>();
let hooked = false;

/** Poll `probe` until it returns a value other than undefined/false; fails after `limitMs`. */
export async function until<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, limitMs = 10_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${limitMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export class DaemonProcess {
  readonly events: LogEvent[] = [];
  /** Lines on stderr that are not JSON log events (startup failures). */
  readonly otherOutput: string[] = [];
  private exitCode: number | null = null;
  private readonly exited: Promise<number>;

  private constructor(private readonly child: ChildProcess) {
    createInterface({ input: child.stderr! }).on("line", (line) => {
      try {
        this.events.push(JSON.parse(line) as LogEvent);
      } catch {
        this.otherOutput.push(line);
      }
    });
    child.stdout!.on("data", (b: Buffer) => this.otherOutput.push(b.toString()));
    this.exited = new Promise((resolve) =>
      child.once("exit", (code, signal) => {
        running.delete(child);
        this.exitCode = code ?? (signal ? 128 : 1);
        resolve(this.exitCode);
      }),
    );
  }

  /** `ingressfw daemon ARGS --log-format json`, from source. */
  static start(args: readonly string[]): DaemonProcess {
    if (!hooked) {
      hooked = true;
      process.once("exit", () => running.forEach((c) => c.kill("SIGKILL")));
    }
    const child = spawn(process.execPath, ["--import", "tsx", "src/cli/bin.ts", "daemon", ...args, "--log-format", "json"], {
      cwd: REPO_ROOT,
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    running.add(child);
    return new DaemonProcess(child);
  }

  get pid(): number {
    return this.child.pid!;
  }

  get exit(): number | null {
    return this.exitCode;
  }

  /** The first event named `event` (after the first `skip` of them) that satisfies `where`. */
  waitForEvent(event: string, where: (e: LogEvent) => boolean = () => true, limitMs = 15_000, skip = 0): Promise<LogEvent> {
    return until(
      `daemon event ${event} (have: ${this.events.map((e) => e.event).join(", ") || "none"}${this.otherOutput.length ? `; output: ${this.otherOutput.join(" | ")}` : ""})`,
      () => {
        const found = this.events.filter((e) => e.event === event && where(e))[skip];
        if (found === undefined && this.exitCode !== null)
          throw new Error(`the daemon exited (${this.exitCode}) before ${event}: ${this.otherOutput.join(" | ")}`);
        return found;
      },
      limitMs,
    );
  }

  /** The exit code of a process expected to end by itself (128 for a signal); fails after `limitMs`. */
  waitForExit(limitMs = 15_000): Promise<number> {
    return until("the daemon to exit", () => this.exitCode ?? undefined, limitMs);
  }

  count(event: string): number {
    return this.events.filter((e) => e.event === event).length;
  }

  /** Send `signal` and wait (bounded) for the exit code; SIGKILL if it does not exit in time. */
  async stop(signal: NodeJS.Signals = "SIGTERM", limitMs = 10_000): Promise<number> {
    if (this.exitCode !== null) return this.exitCode;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill("SIGKILL"), limitMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}
