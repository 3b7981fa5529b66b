// daemon.json in the state directory: which content of the watched configuration directory the daemon
// last applied. On start the confirmed configuration is applied first (boot persistence); the directory
// is applied on top only when its content differs from this record — an edit made while the daemon was
// down — so a configuration confirmed through the API survives a restart over an unchanged directory.
import { z } from "zod";
import { readJsonFile, writeJsonAtomic } from "../kernel/state.js";

export const DIR_RECORD_FILE = "daemon.json";

const DirRecordSchema = z.object({
  version: z.literal(1),
  configDir: z.string(),
  /** hashSources of the directory's files when they were applied. */
  hash: z.string(),
  appliedAt: z.iso.datetime(),
});

export type DirRecord = z.infer<typeof DirRecordSchema>;

export function readDirRecord(stateDir: string): DirRecord | null {
  return readJsonFile(stateDir, DIR_RECORD_FILE, DirRecordSchema, "daemon record");
}

export function writeDirRecord(stateDir: string, configDir: string, hash: string, at: Date): void {
  writeJsonAtomic(stateDir, DIR_RECORD_FILE, DirRecordSchema.parse({ version: 1, configDir, hash, appliedAt: at.toISOString() }));
}
