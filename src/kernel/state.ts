// Persisted state of one target, one JSON file each, written atomically (tmp file + fsync + rename +
// fsync(dir)): state.json, the last successful apply (the configuration as given, the options, the
// compiled transaction and per-rule notes; `status` compares the live table with it), and
// confirmed.json, the last confirmed configuration a try rolls back to (below).
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import type { SourceText } from "../config/input.js";
import { renderJson } from "../compile/nft-json.js";
import { PROFILE_NAMES, type ProfileName } from "../compile/profiles.js";
import { LAYOUT_NAMES, type LayoutName, type Ruleset } from "../compile/ruleset.js";
import { formatAddress, type Address } from "../net/address.js";
import type { Target } from "./exec.js";
import { rulesetNotes } from "./table-view.js";

export const STATE_ROOT = "/var/lib/ingressfw";
export const STATE_FILE = "state.json";

const SourcePosSchema = z.object({ file: z.string(), line: z.number().int(), col: z.number().int() });
const RuleNoteSchema = z.object({ text: z.string(), origin: z.string(), pos: SourcePosSchema.nullable() });

/** The profile and layout names, as schemas for the state files and the daemon's API. */
export const ProfileNameSchema = z.enum(PROFILE_NAMES as unknown as [ProfileName, ...ProfileName[]]);
export const LayoutNameSchema = z.enum(LAYOUT_NAMES as unknown as [LayoutName, ...LayoutName[]]);

export const StateSchema = z.object({
  version: z.literal(1),
  appliedAt: z.iso.datetime(),
  target: z.object({ netns: z.string().nullable() }),
  /** The files the configuration was read from, in order (`<stdin>` for standard input). */
  inputs: z.array(z.string()),
  /** Their texts concatenated as one YAML stream (a `---` between files). */
  config: z.string(),
  options: z.object({
    profile: ProfileNameSchema,
    layout: LayoutNameSchema,
    table: z.string(),
    /** null: unknown (no prerouting chain); otherwise the addresses the ruleset was compiled with. */
    nodeAddresses: z.array(z.string()).nullable(),
    nodeAddressSource: z.enum(["discovered", "given", "none"]),
  }),
  ruleset: z.object({
    family: z.literal("inet"),
    table: z.string(),
    /** The transaction sent to `nft -j -f -`. */
    transaction: z.object({ nftables: z.array(z.unknown()) }),
    /** Per chain, per kernel rule (in order): nft text and the document it came from. */
    chains: z.array(z.object({ name: z.string(), rules: z.array(RuleNoteSchema) })),
  }),
});

export type AppliedState = z.infer<typeof StateSchema>;
export type NodeAddressSource = AppliedState["options"]["nodeAddressSource"];

export class StateError extends Error {
  constructor(
    readonly kind: "invalid" | "no-permission" | "io",
    message: string,
  ) {
    super(message);
  }
}

/** `/var/lib/ingressfw/<netns>` or `/var/lib/ingressfw/host`. */
export function defaultStateDir(target: Target): string {
  return join(STATE_ROOT, target.netns ?? "host");
}

/** The sources as one YAML stream: a document separator between files, so documents never merge. */
export function concatenateSources(sources: readonly SourceText[]): string {
  return sources.map((s) => (s.text === "" || s.text.endsWith("\n") ? s.text : `${s.text}\n`)).join("---\n");
}

export interface NewStateInput {
  readonly target: Target;
  readonly sources: readonly SourceText[];
  readonly ruleset: Ruleset;
  readonly nodeAddresses: readonly Address[] | null;
  readonly nodeAddressSource: NodeAddressSource;
  readonly appliedAt: Date;
}

export function newState(i: NewStateInput): AppliedState {
  const rs = i.ruleset;
  return {
    version: 1,
    appliedAt: i.appliedAt.toISOString(),
    target: { netns: i.target.netns ?? null },
    inputs: i.sources.map((s) => s.file),
    config: concatenateSources(i.sources),
    options: {
      profile: rs.profile,
      layout: rs.layout,
      table: rs.table,
      nodeAddresses: i.nodeAddresses?.map((a) => formatAddress(a.family, a.value)) ?? null,
      nodeAddressSource: i.nodeAddressSource,
    },
    ruleset: {
      family: rs.family,
      table: rs.table,
      transaction: renderJson(rs) as { nftables: unknown[] },
      chains: rulesetNotes(rs).map((c) => ({ name: c.name, rules: [...c.rules] })),
    },
  };
}

function fsError(e: unknown, what: string): StateError {
  const err = e as NodeJS.ErrnoException;
  const kind = err.code === "EACCES" || err.code === "EPERM" || err.code === "EROFS" ? "no-permission" : "io";
  return new StateError(kind, `${what}: ${err.message}`);
}

/**
 * Write `data` as JSON to `dir/name` atomically (tmp file + fsync + rename + fsync of the directory): a
 * reader sees the old or the new file, never a partial one. The directory is created if missing.
 */
export function writeJsonAtomic(dir: string, name: string, data: unknown): string {
  const file = join(dir, name);
  const tmp = join(dir, `.${name}.${process.pid}.tmp`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    const fd = openSync(tmp, "w", 0o644);
    try {
      writeSync(fd, JSON.stringify(data, null, 2) + "\n");
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
    const dfd = openSync(dir, "r");
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch (e) {
    rmSync(tmp, { force: true });
    throw fsError(e, `cannot write ${file}`);
  }
  return file;
}

/** The file `dir/name` checked against `schema`, or null when absent; unreadable or invalid is a StateError. */
export function readJsonFile<T>(dir: string, name: string, schema: z.ZodType<T>, what: string): T | null {
  const file = join(dir, name);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw fsError(e, `cannot read ${what} ${file}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new StateError("invalid", `${what} ${file} is not JSON: ${(e as Error).message}`);
  }
  const parsed = schema.safeParse(data);
  if (!parsed.success) throw new StateError("invalid", `${what} ${file} is invalid: ${z.prettifyError(parsed.error).replace(/\s*\n\s*/g, "; ")}`);
  return parsed.data;
}

/** Delete `dir/name`; false when there was none. */
export function removeFile(dir: string, name: string, what: string): boolean {
  try {
    unlinkSync(join(dir, name));
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw fsError(e, `cannot remove ${what} in ${dir}`);
  }
}

/** Write state.json in `dir` atomically; the directory is created if missing. */
export function writeState(dir: string, state: AppliedState): string {
  return writeJsonAtomic(dir, STATE_FILE, StateSchema.parse(state));
}

/** The state in `dir`, or null when there is none. An unreadable or invalid file is a StateError. */
export function readState(dir: string): AppliedState | null {
  return readJsonFile(dir, STATE_FILE, StateSchema, "state");
}

/** Delete state.json in `dir`; false when there was none. */
export function removeState(dir: string): boolean {
  return removeFile(dir, STATE_FILE, "state");
}

// The last confirmed configuration (semantics §7): what a try rolls back to and what boot re-applies.
// A plain apply and `confirm` write it; a try does not. Kept as the sources and options, not as a
// compiled ruleset, because a rollback recompiles with the node addresses current at that moment.

export const CONFIRMED_FILE = "confirmed.json";

/** A configuration as given: its files' texts and the compile options, enough to compile it again. */
export const ConfigSnapshotSchema = z.object({
  /** The files as read, in order (`<stdin>` for standard input); kept apart so positions stay per file. */
  sources: z.array(z.object({ file: z.string(), text: z.string() })),
  options: z.object({
    profile: ProfileNameSchema,
    layout: LayoutNameSchema,
    table: z.string(),
    /** Given with --node-address; null: discovered in the target each time the configuration is compiled. */
    nodeAddresses: z.array(z.string()).nullable(),
  }),
});

export type ConfigSnapshot = z.infer<typeof ConfigSnapshotSchema>;

export const ConfirmedSchema = z.object({
  version: z.literal(1),
  confirmedAt: z.iso.datetime(),
  target: z.object({ netns: z.string().nullable() }),
  config: ConfigSnapshotSchema,
});

export type ConfirmedState = z.infer<typeof ConfirmedSchema>;

export function writeConfirmed(dir: string, confirmed: ConfirmedState): string {
  return writeJsonAtomic(dir, CONFIRMED_FILE, ConfirmedSchema.parse(confirmed));
}

/** The confirmed configuration in `dir`, or null when nothing was ever confirmed (or it was removed). */
export function readConfirmed(dir: string): ConfirmedState | null {
  return readJsonFile(dir, CONFIRMED_FILE, ConfirmedSchema, "confirmed configuration");
}

export function removeConfirmed(dir: string): boolean {
  return removeFile(dir, CONFIRMED_FILE, "confirmed configuration");
}
