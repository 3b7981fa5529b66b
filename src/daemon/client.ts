// The CLI's side of the daemon API: find the daemon that serves a namespace (its socket exists and
// answers) and send it requests. No daemon means the CLI acts on the kernel itself.
import { request } from "node:http";
import { join } from "node:path";
import type { Target } from "../kernel/exec.js";

export const RUN_DIR = "/run/ingressfw";

/** `/run/ingressfw/<netns>.sock` or `/run/ingressfw/host.sock`. */
export function defaultSocketPath(target: Target): string {
  return join(RUN_DIR, `${target.netns ?? "host"}.sock`);
}

export interface DaemonReply {
  readonly status: number;
  readonly body: unknown;
}

/** The socket exists but this user may not use it (it is root's, mode 0600). */
export class DaemonAccessError extends Error {}

const NO_DAEMON = new Set(["ENOENT", "ECONNREFUSED", "ENOTSOCK"]);

export function requestDaemon(socketPath: string, method: "GET" | "POST", path: string, body?: unknown, timeoutMs = 120_000): Promise<DaemonReply> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? "" : JSON.stringify(body);
    const req = request(
      { socketPath, method, path, timeout: timeoutMs, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (b: Buffer) => chunks.push(b));
        res.on("error", reject);
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          try {
            resolve({ status: res.statusCode ?? 0, body: text.trim() === "" ? null : JSON.parse(text) });
          } catch {
            reject(new Error(`the daemon at ${socketPath} sent a response that is not JSON (HTTP ${res.statusCode})`));
          }
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`the daemon at ${socketPath} did not answer within ${timeoutMs / 1000} s`)));
    req.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "EACCES" || e.code === "EPERM") reject(new DaemonAccessError(`no permission to use the daemon socket ${socketPath}: run as root`));
      else reject(e);
    });
    req.end(payload);
  });
}

/**
 * Whether a daemon serves `socketPath`: false when there is no socket or nothing listens on it (a
 * stale socket of a killed daemon). A socket this user may not open is a DaemonAccessError.
 */
export async function daemonAnswers(socketPath: string, timeoutMs = 5000): Promise<boolean> {
  try {
    const r = await requestDaemon(socketPath, "GET", "/v1/status", undefined, timeoutMs);
    return r.status === 200;
  } catch (e) {
    if (NO_DAEMON.has((e as NodeJS.ErrnoException).code ?? "")) return false;
    throw e;
  }
}

/** The error message of a non-2xx reply, as the daemon phrased it. */
export function replyError(r: DaemonReply): string {
  const body = r.body as { error?: unknown } | null;
  return typeof body?.error === "string" ? body.error : `the daemon answered HTTP ${r.status}`;
}
