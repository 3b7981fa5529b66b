// Notices when the target namespace's addresses or links may have changed: `ip monitor address link`
// inside it (every output line is a hint, debounced), restarted if it exits, plus a slow poll in case
// an event is missed. The callback re-discovers the node addresses and decides whether they changed;
// iproute2 6.1 ignores -j for monitor, so the lines are not parsed.
import { spawn, type ChildProcess } from "node:child_process";
import type { Target } from "../kernel/exec.js";
import { debounce } from "./debounce.js";
import type { Closeable } from "./watch-config.js";

export interface AddressWatchOptions {
  readonly debounceMs?: number;
  readonly pollMs?: number;
  readonly restartMs?: number;
  /** A monitor that could not start or ended (the poll still runs). */
  readonly onMonitorProblem?: (message: string) => void;
}

export function watchAddresses(target: Target, onMaybeChanged: () => void, opts: AddressWatchOptions = {}): Closeable {
  const soon = debounce(onMaybeChanged, opts.debounceMs ?? 200, 600);
  let child: ChildProcess | null = null;
  let restart: NodeJS.Timeout | null = null;
  let closed = false;
  let lastProblem: string | null = null;

  const start = () => {
    restart = null;
    if (closed) return;
    const args = [...(target.netns ? ["-n", target.netns] : []), "monitor", "address", "link"];
    const proc = spawn("ip", args, { stdio: ["ignore", "pipe", "pipe"] });
    child = proc;
    let stderr = "";
    proc.stdout.on("data", () => soon.trigger());
    proc.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    const ended = (why: string) => {
      if (child !== proc) return;
      child = null;
      if (closed) return;
      // Reported once while it keeps failing the same way (a vanished namespace fails every second).
      const problem = `ip monitor ${why}${stderr.trim() ? `: ${stderr.trim()}` : ""}; restarting it`;
      if (problem !== lastProblem) opts.onMonitorProblem?.(problem);
      lastProblem = problem;
      // Whatever changed while no monitor ran is picked up after the restart.
      soon.trigger();
      restart = setTimeout(start, opts.restartMs ?? 1000);
    };
    proc.on("error", (e) => ended(`could not start (${e.message})`));
    proc.on("exit", (code, signal) => ended(`ended (${signal ?? `exit ${code}`})`));
  };

  start();
  const poll = setInterval(() => soon.trigger(), opts.pollMs ?? 5000);
  return {
    close() {
      closed = true;
      clearInterval(poll);
      if (restart) clearTimeout(restart);
      soon.cancel();
      child?.kill();
      child = null;
    },
  };
}
