// The drop journal: drop events as JSON lines in `<state dir>/drops.jsonl`, appended by whoever reads the
// NFLOG group through ingressfw (`logs --follow`, the daemon), so that `logs` can show recent drops.
// Bounded: past MAX_BYTES the file becomes drops.jsonl.1 (replacing the previous one) and a new one starts.
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, renameSync, statSync } from "node:fs";
import { join } from "node:path";
import type { DropEvent } from "./drop-event.js";

export const JOURNAL_FILE = "drops.jsonl";
export const MAX_BYTES = 4 * 1024 * 1024;

export function journalPath(stateDir: string): string {
  return join(stateDir, JOURNAL_FILE);
}

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

export function appendEvent(file: string, e: DropEvent, maxBytes = MAX_BYTES): void {
  const line = JSON.stringify(e) + "\n";
  if (sizeOf(file) + line.length > maxBytes) renameSync(file, `${file}.1`);
  mkdirSync(join(file, ".."), { recursive: true, mode: 0o755 });
  appendFileSync(file, line, { mode: 0o644 });
}

function parseLines(text: string): DropEvent[] {
  const out: DropEvent[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as DropEvent);
    } catch {
      // a line cut by a crash mid-write is skipped
    }
  }
  return out;
}

function readText(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return "";
    throw e;
  }
}

/** Events recorded at or after `sinceMs` (the rotated file first), oldest first; null when there is no journal. */
export function readEvents(file: string, sinceMs = 0): DropEvent[] | null {
  if (!existsSync(file) && !existsSync(`${file}.1`)) return null;
  return parseLines(readText(`${file}.1`) + readText(file)).filter((e) => Date.parse(e.time) >= sinceMs);
}

/** Follows a journal another process appends to: polls for new complete lines (and notices a rotation). */
export function tailEvents(file: string, onEvent: (e: DropEvent) => void, pollMs = 250): () => void {
  let offset = sizeOf(file);
  let partial = "";
  const timer = setInterval(() => {
    const size = sizeOf(file);
    if (size < offset) [offset, partial] = [0, ""]; // rotated
    if (size === offset) return;
    const fd = openSync(file, "r");
    try {
      const buf = Buffer.alloc(size - offset);
      readSync(fd, buf, 0, buf.length, offset);
      offset = size;
      const text = partial + buf.toString("utf8");
      const cut = text.lastIndexOf("\n") + 1;
      partial = text.slice(cut);
      for (const e of parseLines(text.slice(0, cut))) onEvent(e);
    } finally {
      closeSync(fd);
    }
  }, pollMs);
  return () => clearInterval(timer);
}
