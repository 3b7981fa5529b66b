// A small HTTP+JSON server on a unix socket that only its owner (root) can use: the socket is created
// 0600 (umask during bind, chmod after) and its directory, when ingressfw creates it, 0700. A stale
// socket left by a killed daemon is replaced; one that still answers belongs to a running daemon.
import { chmodSync, lstatSync, mkdirSync, unlinkSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { connect } from "node:net";
import { dirname } from "node:path";

export interface ApiResponse {
  readonly status: number;
  readonly body: unknown;
  /** A text body (`body` a string) sent as is with this type, e.g. the Prometheus page; otherwise JSON. */
  readonly contentType?: string;
}

export interface Route {
  readonly method: "GET" | "POST";
  readonly path: string;
  /** `body` is the parsed JSON body, or undefined when the request had none. */
  handle(body: unknown): Promise<ApiResponse>;
}

export const MAX_BODY_BYTES = 4 * 1024 * 1024;

export class SocketInUseError extends Error {}

const errorBody = (message: string) => ({ error: message });

/** Whether something accepts connections on the unix socket `path` (bounded by `timeoutMs`). */
export function socketAnswers(path: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(path);
    const done = (v: boolean) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.once("connect", () => done(true));
    sock.once("error", () => done(false));
  });
}

/** Make `path` free for a new socket; `ownDir`: the directory is ingressfw's and must be 0700. */
export async function prepareSocketPath(path: string, ownDir: boolean): Promise<void> {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (ownDir) chmodSync(dir, 0o700);
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
    throw e;
  }
  if (!isSocket) throw new SocketInUseError(`${path} exists and is not a socket; remove it or choose another --socket`);
  if (await socketAnswers(path)) throw new SocketInUseError(`another daemon is already serving ${path}`);
  unlinkSync(path);
}

function readBody(req: IncomingMessage): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (b: Buffer) => {
      size += b.length;
      if (size > MAX_BODY_BYTES) {
        resolve(null);
        req.destroy();
        return;
      }
      chunks.push(b);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

async function dispatch(routes: readonly Route[], req: IncomingMessage): Promise<ApiResponse> {
  const path = (req.url ?? "/").split("?")[0];
  const forPath = routes.filter((r) => r.path === path);
  if (forPath.length === 0) return { status: 404, body: errorBody(`no such endpoint: ${path}`) };
  const route = forPath.find((r) => r.method === req.method);
  if (!route) return { status: 405, body: errorBody(`${req.method} is not allowed on ${path} (use ${forPath.map((r) => r.method).join(", ")})`) };
  const text = await readBody(req);
  if (text === null) return { status: 413, body: errorBody(`request body larger than ${MAX_BODY_BYTES} bytes`) };
  let body: unknown;
  if (text.trim() !== "") {
    try {
      body = JSON.parse(text);
    } catch (e) {
      return { status: 400, body: errorBody(`request body is not JSON: ${(e as Error).message}`) };
    }
  }
  return route.handle(body);
}

function reply(res: ServerResponse, r: ApiResponse): void {
  const raw = r.contentType !== undefined && typeof r.body === "string";
  const text = raw ? (r.body as string) : `${JSON.stringify(r.body)}\n`;
  res.writeHead(r.status, { "content-type": raw ? r.contentType! : "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

export interface UnixServer {
  /** Stop accepting; resolves when the requests in flight have been answered. */
  close(): Promise<void>;
  /** Drop every connection now (after a bounded wait for close). */
  destroy(): void;
}

export async function serveUnix(path: string, routes: readonly Route[], onInternalError: (e: Error) => void): Promise<UnixServer> {
  const server = createServer((req, res) => {
    dispatch(routes, req).then(
      (r) => reply(res, r),
      (e: unknown) => {
        const err = e instanceof Error ? e : new Error(String(e));
        onInternalError(err);
        reply(res, { status: 500, body: errorBody(`internal error: ${err.message}`) });
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    // The socket is bound synchronously inside listen(): a umask for that call alone creates it 0600.
    const previous = process.umask(0o177);
    try {
      server.listen(path, () => resolve());
    } finally {
      process.umask(previous);
    }
  });
  chmodSync(path, 0o600);
  let closed: Promise<void> | null = null;
  return {
    close: () => (closed ??= new Promise((resolve) => server.close(() => resolve()))),
    destroy: () => server.closeAllConnections(),
  };
}
