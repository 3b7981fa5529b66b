// Watches the configuration directory: fs.watch on the directory for prompt notice (debounced), and a
// poll comparing the content hash as a fallback for what inotify on one directory cannot see (a file
// that is a symlink to elsewhere edited there, the directory path itself re-pointed). Reports each new
// content once, and each read error once until it changes.
import { watch, statSync, type FSWatcher } from "node:fs";
import { debounce } from "./debounce.js";
import { ConfigDirError, readConfigDir, type DirSnapshot } from "./config-dir.js";

export type ConfigDirEvent = { readonly kind: "snapshot"; readonly snapshot: DirSnapshot } | { readonly kind: "error"; readonly message: string };

export interface ConfigWatchOptions {
  readonly debounceMs?: number;
  readonly pollMs?: number;
}

export interface Closeable {
  close(): void;
}

/** The directory's identity; a change means the path now names another directory (re-watch it). */
function identity(dir: string): string | null {
  try {
    const s = statSync(dir);
    return `${s.dev}:${s.ino}`;
  } catch {
    return null;
  }
}

/** `knownHash`: the content already handled (not reported again). */
export function watchConfigDir(dir: string, knownHash: string | null, onEvent: (e: ConfigDirEvent) => void, opts: ConfigWatchOptions = {}): Closeable {
  const debounceMs = opts.debounceMs ?? 200;
  let lastHash = knownHash;
  let lastError: string | null = null;
  let watcher: FSWatcher | null = null;
  let watchedId: string | null = null;
  let closed = false;

  const check = () => {
    if (closed) return;
    try {
      const snapshot = readConfigDir(dir);
      lastError = null;
      if (snapshot.hash === lastHash) return;
      lastHash = snapshot.hash;
      onEvent({ kind: "snapshot", snapshot });
    } catch (e) {
      if (!(e instanceof ConfigDirError)) throw e;
      if (e.message === lastError) return;
      lastError = e.message;
      // Whatever appears next is new, even if it equals the content before the error.
      lastHash = null;
      onEvent({ kind: "error", message: e.message });
    }
  };
  const soon = debounce(check, debounceMs, debounceMs * 3);

  const unwatch = () => {
    watcher?.close();
    watcher = null;
    watchedId = null;
  };
  const ensureWatch = () => {
    const id = identity(dir);
    if (watcher && id === watchedId) return;
    unwatch();
    if (id === null) return;
    try {
      watcher = watch(dir, { persistent: false }, () => soon.trigger());
      watcher.on("error", unwatch);
      watchedId = id;
    } catch {
      // not watchable now (removed in between); the poll tries again
    }
  };

  ensureWatch();
  const poll = setInterval(() => {
    ensureWatch();
    check();
  }, opts.pollMs ?? 2000);
  return {
    close() {
      closed = true;
      clearInterval(poll);
      soon.cancel();
      unwatch();
    },
  };
}
