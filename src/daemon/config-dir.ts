// One consistent read of the watched configuration directory: its *.yaml / *.yml files in lexical order,
// followed through symlinks, with a content hash to tell edits apart.
//
// Entries starting with a dot are skipped: editors' swap and lock files (`.x.yaml.swp`, `.#x.yaml`) and
// a Kubernetes ConfigMap volume's `..data` symlink and `..<timestamp>` directories. The visible files of
// a ConfigMap volume are symlinks through `..data`, which the kubelet swaps atomically, so reading them by
// name always gives one generation. A file that vanishes between listing and reading (an editor's
// rename-replace in progress) is left out; the watcher reads again when the rename lands.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { SourceText } from "../config/input.js";

export interface DirSnapshot {
  readonly sources: readonly SourceText[];
  /** sha256 over names and contents; equal hashes mean the same configuration. */
  readonly hash: string;
}

export class ConfigDirError extends Error {}

const isConfigName = (name: string) => !name.startsWith(".") && /\.ya?ml$/.test(name);

const vanished = (e: unknown) => {
  const code = (e as NodeJS.ErrnoException).code;
  return code === "ENOENT" || code === "ENOTDIR" || code === "ELOOP";
};

export function hashSources(sources: readonly SourceText[]): string {
  const h = createHash("sha256");
  for (const s of sources) h.update(`${s.file}\0${s.text}\0`);
  return h.digest("hex");
}

export function readConfigDir(dir: string): DirSnapshot {
  let names: string[];
  try {
    names = readdirSync(dir).filter(isConfigName).sort();
  } catch (e) {
    throw new ConfigDirError(`cannot read configuration directory ${dir}: ${(e as Error).message}`);
  }
  const sources: SourceText[] = [];
  for (const name of names) {
    const file = join(dir, name);
    try {
      if (!statSync(file).isFile()) continue;
      sources.push({ file, text: readFileSync(file, "utf8") });
    } catch (e) {
      if (vanished(e)) continue;
      throw new ConfigDirError(`cannot read ${file}: ${(e as Error).message}`);
    }
  }
  return { sources, hash: hashSources(sources) };
}
