// The daemon's HTTP+JSON API: request schemas (zod, strict: an unknown field is a 400) and the mapping
// of the daemon's outcomes to status codes. Malformed requests change nothing.
import { z } from "zod";
import { ConfirmedSchema, LayoutNameSchema, ProfileNameSchema } from "../kernel/state.js";
import { PendingTrySchema, type PendingTryView } from "../kernel/try-state.js";
import { parseAddress } from "../net/address.js";
import type { ActiveView } from "./enforcer.js";
import { DurationError, parseGoDuration } from "./go-duration.js";
import type { ApiResponse, Route } from "./http-server.js";
import { METRICS_CONTENT_TYPE } from "./metrics.js";

const TABLE_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

function goDurationProblem(text: string): string | null {
  try {
    return parseGoDuration(text) > 0n ? null : `the timeout must be positive, not ${JSON.stringify(text)}`;
  } catch (e) {
    if (e instanceof DurationError) return `${e.message.replace(/^time: /, "")} (Go syntax: 30s, 1m30s, 2h)`;
    throw e;
  }
}

/** The compile options of a request; absent ones are the daemon's (--profile, --layout, its table). */
export const ApplyOptionsSchema = z
  .strictObject({
    profile: ProfileNameSchema,
    layout: LayoutNameSchema,
    table: z.string().regex(TABLE_NAME, "a table name starts with a letter and has letters, digits, _ . - only"),
    /** Node addresses for the prerouting chain instead of those discovered in the target. */
    nodeAddresses: z.array(z.string().refine((a) => parseAddress(a) !== null, "not an IP address")),
    /** Warnings count as errors. */
    strict: z.boolean(),
  })
  .partial();

export const ApplyRequestSchema = z
  .strictObject({
    /** The configuration as one YAML stream (documents separated by `---`), named `<api>` in diagnostics. */
    config: z.string().min(1, "config must not be empty").optional(),
    /** Or the files as read, in order: diagnostics and the saved state keep their names. */
    sources: z
      .array(z.strictObject({ file: z.string().min(1), text: z.string() }))
      .min(1)
      .optional(),
    mode: z.literal("try").optional(),
    /** Go duration (`30s`, `1m30s`); only with mode "try"; default 1m. */
    timeout: z
      .string()
      .superRefine((t, ctx) => {
        const problem = goDurationProblem(t);
        if (problem) ctx.addIssue({ code: "custom", message: problem });
      })
      .optional(),
    options: ApplyOptionsSchema.optional(),
  })
  .refine((r) => (r.config === undefined) !== (r.sources === undefined), { message: "give either config (YAML text) or sources ([{file, text}])" })
  .refine((r) => r.timeout === undefined || r.mode === "try", { message: 'timeout is only for mode "try"' });
export type ApplyRequest = z.infer<typeof ApplyRequestSchema>;

/** confirm and rollback take no parameters: no body, or an empty JSON object. */
const EmptyRequestSchema = z.strictObject({}).optional();

export interface DiagnosticJson {
  readonly severity: string;
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly code?: string;
  /** The diagnostic as the CLI prints it: `file:line:col: error: …`. */
  readonly text: string;
}

/** What the daemon did with a request; the API maps each kind to a status code. */
export type Outcome =
  | { readonly kind: "ok"; readonly body: Record<string, unknown> }
  /** The configuration does not validate; nothing was changed. */
  | { readonly kind: "invalid"; readonly error: string; readonly diagnostics: readonly DiagnosticJson[] }
  /** Nothing to act on (confirm or rollback without a pending try). */
  | { readonly kind: "conflict"; readonly error: string }
  /** The kernel refused or the state could not be written. */
  | { readonly kind: "failed"; readonly error: string };

const STATUS: Record<Outcome["kind"], number> = { ok: 200, invalid: 422, conflict: 409, failed: 500 };

export function outcomeResponse(o: Outcome): ApiResponse {
  switch (o.kind) {
    case "ok":
      return { status: 200, body: o.body };
    case "invalid":
      return { status: STATUS.invalid, body: { error: o.error, diagnostics: o.diagnostics } };
    default:
      return { status: STATUS[o.kind], body: { error: o.error } };
  }
}

export interface DaemonHandlers {
  status(): Promise<DaemonStatus>;
  apply(req: ApplyRequest): Promise<Outcome>;
  confirm(): Promise<Outcome>;
  rollback(): Promise<Outcome>;
  /** The Prometheus text page (src/daemon/metrics.ts) for GET /metrics. */
  metrics?(): Promise<string>;
}

function validated<T>(schema: z.ZodType<T>, body: unknown, run: (v: T) => Promise<Outcome>): Promise<ApiResponse> {
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const message = z.prettifyError(parsed.error).replace(/\s*\n\s*/g, "; ");
    return Promise.resolve({ status: 400, body: { error: `invalid request: ${message}` } });
  }
  return run(parsed.data).then(outcomeResponse);
}

export function apiRoutes(h: DaemonHandlers): Route[] {
  return [
    { method: "GET", path: "/v1/status", handle: async () => ({ status: 200, body: await h.status() }) },
    { method: "POST", path: "/v1/apply", handle: (body) => validated(ApplyRequestSchema, body, (r) => h.apply(r)) },
    { method: "POST", path: "/v1/confirm", handle: (body) => validated(EmptyRequestSchema, body, () => h.confirm()) },
    { method: "POST", path: "/v1/rollback", handle: (body) => validated(EmptyRequestSchema, body, () => h.rollback()) },
    ...(h.metrics ? [metricsRoute(h.metrics)] : []),
  ];
}

function metricsRoute(page: () => Promise<string>): Route {
  return { method: "GET", path: "/metrics", handle: async () => ({ status: 200, body: await page(), contentType: METRICS_CONTENT_TYPE }) };
}

// ---- replies (what the CLI reads back) ----

const ApplyResultSchema = z.object({
  changed: z.boolean(),
  update: z.object({ commands: z.number(), chains: z.number(), sets: z.number() }).optional(),
  durationMs: z.number(),
  table: z.string(),
  chains: z.array(z.object({ name: z.string(), rules: z.number() })),
  regularChains: z.number(),
  ruleCount: z.number(),
});

/** POST /v1/apply, 200. `pending`/`replaced` for a try, `cancelledTry` for a plain apply. */
export const ApplyReplySchema = z.object({
  mode: z.enum(["apply", "try"]),
  result: ApplyResultSchema,
  stateFile: z.string(),
  nodeAddresses: z.array(z.string()).nullable(),
  diagnostics: z.array(z.object({ text: z.string(), severity: z.string() }).loose()),
  pending: PendingTrySchema.optional(),
  replaced: PendingTrySchema.nullable().optional(),
  cancelledTry: PendingTrySchema.nullable().optional(),
});
export type ApplyReply = z.infer<typeof ApplyReplySchema>;

/** POST /v1/confirm, 200. */
export const ConfirmReplySchema = z.object({ confirmed: ConfirmedSchema, pending: PendingTrySchema });

/** POST /v1/rollback, 200 (a failed rollback is a 500 with the error). */
export const RollbackReplySchema = z.object({
  kind: z.literal("rolled-back"),
  pending: PendingTrySchema,
  restored: ConfirmedSchema.nullable(),
  removedTables: z.array(z.string()),
});

/** GET /v1/status. */
export interface DaemonStatus {
  readonly daemon: {
    readonly pid: number;
    readonly startedAt: string;
    readonly target: { readonly netns: string | null };
    readonly stateDir: string;
    readonly socket: string;
    readonly options: { readonly profile: string; readonly layout: string; readonly table: string };
    /** Whether this daemon rolls back a pending try when due (false while a guardian does). */
    readonly ownsRollback: boolean;
  };
  /** What the daemon enforces; null when nothing is confirmed and no try is pending. */
  readonly active: ActiveView | null;
  /** The watched directory: the hash of its content last seen, and why that content is not applied. */
  readonly configDir: { readonly path: string; readonly hash: string | null; readonly problem: Problem | null };
  readonly pendingTry: PendingTryView | null;
  /** The state directory could not be read. */
  readonly stateProblem: string | null;
  readonly enforcement: { readonly driftRepairs: number; readonly lastDriftRepairAt: string | null; readonly problem: string | null };
  readonly lastError: (Problem & { readonly event: string }) | null;
}

export interface Problem {
  readonly at: string;
  readonly message: string;
  readonly diagnostics: readonly DiagnosticJson[];
}
