// Progress on stderr: one line per step, with the time since the run started.
import { performance } from "node:perf_hooks";

const started = performance.now();

export function progress(message: string): void {
  const s = (performance.now() - started) / 1000;
  process.stderr.write(`[${s.toFixed(1).padStart(6)} s] ${message}\n`);
}
