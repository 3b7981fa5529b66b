// Prometheus text exposition format (version 0.0.4) for the daemon's GET /metrics: per-document
// packet/byte counters and drops by rule (from a status report, i.e. the kernel's counters), table
// presence and drift, and the daemon's own events (apply/try/rollback counts and durations, drift
// detections). Pure rendering; MetricsRecorder keeps the event counts between scrapes.
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { KernelError, type Target } from "../kernel/exec.js";
import { ListingError } from "../kernel/nft-listing.js";
import { readState, STATE_FILE, StateError, type AppliedState } from "../kernel/state.js";
import { buildStatus, readRulesetForStatus, type StatusReport } from "../kernel/status.js";
import type { Outcome } from "./api.js";

export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

export type EventKind = "apply" | "try" | "confirm" | "rollback";
export type EventOutcome = "ok" | "failed";

interface EventStats {
  count: number;
  seconds: number;
}

/** Counts the daemon's events; monotonic for the life of the process, as Prometheus counters must be. */
export class MetricsRecorder {
  private readonly events = new Map<string, EventStats>();
  private lastApplyMs: number | null = null;

  recordEvent(kind: EventKind, outcome: EventOutcome, durationMs: number, at = Date.now()): void {
    const key = `${kind}\0${outcome}`;
    const s = this.events.get(key) ?? { count: 0, seconds: 0 };
    s.count++;
    s.seconds += durationMs / 1000;
    this.events.set(key, s);
    if ((kind === "apply" || kind === "try") && outcome === "ok") this.lastApplyMs = at;
  }

  /** `driftDetections`: the daemon's count of drift found (its enforcer's repairs). */
  snapshot(driftDetections: number): DaemonStats {
    return {
      events: [...this.events].map(([key, s]) => {
        const [kind, outcome] = key.split("\0") as [EventKind, EventOutcome];
        return { kind, outcome, count: s.count, seconds: s.seconds };
      }),
      driftDetections,
      lastApplyMs: this.lastApplyMs,
    };
  }
}

export interface DaemonStats {
  readonly events: readonly { readonly kind: EventKind; readonly outcome: EventOutcome; readonly count: number; readonly seconds: number }[];
  readonly driftDetections: number;
  /** The daemon's last successful apply or try; the status report's state time is used when null. */
  readonly lastApplyMs: number | null;
}

type Labels = Readonly<Record<string, string>>;

interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: "counter" | "gauge" | "summary";
  readonly samples: readonly { readonly suffix?: string; readonly labels: Labels; readonly value: number }[];
}

/** Label values escape backslash, double quote and newline (the exposition format's rule). */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function sampleLine(name: string, labels: Labels, value: number): string {
  const keys = Object.keys(labels);
  const l = keys.length ? `{${keys.map((k) => `${k}="${escapeLabelValue(labels[k]!)}"`).join(",")}}` : "";
  const v = Number.isFinite(value) ? String(value) : value > 0 ? "+Inf" : value < 0 ? "-Inf" : "NaN";
  return `${name}${l} ${v}`;
}

export function renderFamilies(families: readonly Family[]): string {
  const lines: string[] = [];
  for (const f of families) {
    lines.push(`# HELP ${f.name} ${f.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) lines.push(sampleLine(`${f.name}${s.suffix ?? ""}`, s.labels, s.value));
  }
  return lines.join("\n") + "\n";
}

/** Sums per label set, in first-seen order. */
function sumBy<T>(items: readonly T[], labels: (t: T) => Labels, value: (t: T) => number): { labels: Labels; value: number }[] {
  const out = new Map<string, { labels: Labels; value: number }>();
  for (const t of items) {
    const l = labels(t);
    const key = JSON.stringify(l);
    const cur = out.get(key) ?? { labels: l, value: 0 };
    cur.value += value(t);
    out.set(key, cur);
  }
  return [...out.values()];
}

/** The metrics page for one target: `status` is the report at scrape time (null when it could not be read). */
export function renderMetrics(status: StatusReport | null, daemon: DaemonStats): string {
  const families: Family[] = [];
  if (status) {
    const counted = status.rules.filter((r) => r.origin !== null && r.packets !== null);
    const perDoc = sumBy(
      counted,
      (r) => ({ document: r.origin! }),
      (r) => r.packets ?? 0,
    );
    const perDocBytes = sumBy(
      counted,
      (r) => ({ document: r.origin! }),
      (r) => r.bytes ?? 0,
    );
    const drops = counted.filter((r) => /(^|\s)drop$/.test(r.text));
    families.push(
      {
        name: "ingressfw_table_present",
        help: "1 when ingressfw's table is in the kernel",
        type: "gauge",
        samples: [{ labels: {}, value: status.table.present ? 1 : 0 }],
      },
      {
        name: "ingressfw_document_packets_total",
        help: "Packets counted by the kernel rules each document (or built-in rule) produced",
        type: "counter",
        samples: perDoc.map((s) => ({ labels: s.labels, value: s.value })),
      },
      {
        name: "ingressfw_document_bytes_total",
        help: "Bytes counted by the kernel rules each document (or built-in rule) produced",
        type: "counter",
        samples: perDocBytes.map((s) => ({ labels: s.labels, value: s.value })),
      },
      {
        name: "ingressfw_rule_drop_packets_total",
        help: "Packets dropped by each dropping kernel rule, by document and chain (a drop policy has no counter)",
        type: "counter",
        samples: drops.map((r) => ({ labels: { document: r.origin!, chain: r.chain, rule: String(r.index) }, value: r.packets ?? 0 })),
      },
      {
        name: "ingressfw_drift",
        help: "1 when the live table differs from the last applied ruleset, 0 when equal (absent without state)",
        type: "gauge",
        samples: status.drift ? [{ labels: {}, value: status.drift.drifted ? 1 : 0 }] : [],
      },
    );
  }
  const lastApplyMs = daemon.lastApplyMs ?? (status?.state ? Date.parse(status.state.appliedAt) : null);
  families.push(
    {
      name: "ingressfw_last_apply_timestamp_seconds",
      help: "Unix time of the last successful apply",
      type: "gauge",
      samples: lastApplyMs === null ? [] : [{ labels: {}, value: lastApplyMs / 1000 }],
    },
    {
      name: "ingressfw_events_total",
      help: "Daemon events (apply, try, confirm, rollback) by outcome",
      type: "counter",
      samples: daemon.events.map((e) => ({ labels: { event: e.kind, outcome: e.outcome }, value: e.count })),
    },
    {
      name: "ingressfw_event_duration_seconds",
      help: "Time the daemon's events took",
      type: "summary",
      samples: sumBy(
        daemon.events,
        (e) => ({ event: e.kind }),
        (e) => e.seconds,
      ).flatMap((s) => [
        { suffix: "_sum", labels: s.labels, value: s.value },
        {
          suffix: "_count",
          labels: s.labels,
          value: daemon.events.filter((e) => e.kind === s.labels.event).reduce((n, e) => n + e.count, 0),
        },
      ]),
    },
    {
      name: "ingressfw_drift_detected_total",
      help: "Times the daemon found the live table drifted",
      type: "counter",
      samples: [{ labels: {}, value: daemon.driftDetections }],
    },
  );
  return renderFamilies(families);
}

/** Runs an API action and records it with its duration: "ok" for an ok outcome, "failed" for any other. */
export async function timed(recorder: MetricsRecorder, kind: EventKind, run: () => Promise<Outcome>): Promise<Outcome> {
  const started = performance.now();
  const outcome = await run();
  recorder.recordEvent(kind, outcome.kind === "ok" ? "ok" : "failed", performance.now() - started);
  return outcome;
}

/** The page for a target at scrape time; a table that cannot be read leaves only the daemon's own metrics. */
export async function metricsPage(target: Target, stateDir: string, table: string, daemon: DaemonStats): Promise<string> {
  let state: AppliedState | null = null;
  try {
    state = readState(stateDir);
  } catch (e) {
    if (!(e instanceof StateError)) throw e;
  }
  const tableName = state?.ruleset.table ?? table;
  let report: StatusReport | null = null;
  try {
    const { listing, ruleTexts } = await readRulesetForStatus(target, "inet", tableName);
    report = buildStatus({ target, family: "inet", table: tableName, listing, ruleTexts, state, stateFile: join(stateDir, STATE_FILE), stateProblem: null });
  } catch (e) {
    if (!(e instanceof KernelError) && !(e instanceof ListingError)) throw e;
  }
  return renderMetrics(report, daemon);
}
