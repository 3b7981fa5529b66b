// Builds the bench's packet sender (sender.c) with the system C compiler and runs it in the client
// namespace. Every run is bounded in packets and milliseconds (the C program caps both again).
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runIn } from "../src/kernel/exec.js";
import type { Family } from "../src/net/address.js";
import { SERVER_ADDRESS, type Probe } from "./configs.js";
import type { Lab } from "./lab.js";
import type { Side } from "./stats.js";

const SOURCE = fileURLToPath(new URL("./sender.c", import.meta.url));
export const MAX_RUN_MS = 30_000;
export const MAX_BATCH = 512;

export interface Sender {
  readonly path: string;
  readonly dir: string;
}

export interface SendResult {
  readonly sent: number;
  readonly wallNs: number;
  /** The sending thread's CPU time, which includes the receive path run on its behalf (see sender.c). */
  readonly cpuNs: number;
}

export function buildSender(): Sender {
  const dir = mkdtempSync(join(tmpdir(), "ifw-bench-"));
  const path = join(dir, "ifw-bench-send");
  try {
    execFileSync("gcc", ["-O2", "-Wall", "-o", path, SOURCE], { stdio: ["ignore", "ignore", "pipe"] });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    const stderr = (e as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`cannot build the packet sender: ${stderr || (e as Error).message}`);
  }
  return { path, dir };
}

export function removeSender(s: Sender | null): void {
  if (s) rmSync(s.dir, { recursive: true, force: true });
}

export interface SendRequest {
  readonly side: Side;
  readonly family: Family;
  readonly probe: Probe;
  readonly count: number;
  readonly maxMs: number;
  readonly batch: number;
  /** CPU the sender (and so the receive path) is pinned to. */
  readonly cpu: number;
}

export function parseSendOutput(stdout: string): SendResult {
  const o = JSON.parse(stdout.trim()) as { sent?: unknown; wall_ns?: unknown; cpu_ns?: unknown };
  if (typeof o.sent !== "number" || typeof o.wall_ns !== "number" || typeof o.cpu_ns !== "number") {
    throw new Error(`unexpected sender output: ${stdout.trim()}`);
  }
  return { sent: o.sent, wallNs: o.wall_ns, cpuNs: o.cpu_ns };
}

export async function send(sender: Sender, lab: Lab, req: SendRequest): Promise<SendResult> {
  const args = [
    ["-i", lab.clientIface[req.side]],
    ["-m", lab.serverMac[req.side]],
    ["-s", req.probe.src],
    ["-d", SERVER_ADDRESS[req.family]],
    ["-p", String(req.probe.dport)],
    ["-n", String(Math.max(1, Math.floor(req.count)))],
    ["-t", String(Math.min(Math.max(req.maxMs, 1), MAX_RUN_MS))],
    ["-b", String(Math.min(Math.max(Math.floor(req.batch), 1), MAX_BATCH))],
    ["-c", String(req.cpu)],
  ].flat();
  const res = await runIn({ netns: lab.client }, sender.path, args);
  if (res.code !== 0) throw new Error(`packet sender failed (exit ${res.code}): ${res.stderr.trim()}`);
  return parseSendOutput(res.stdout);
}
