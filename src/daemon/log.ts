// The daemon's log: one line per event on stderr. Text lines carry the level and an event name; under
// journald (JOURNAL_STREAM set) they start with a syslog priority prefix instead of a timestamp, since
// journald adds its own. `--log-format json` writes one JSON object per line.

export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFormat = "text" | "json";
export const LOG_FORMATS: readonly LogFormat[] = ["text", "json"];

export type LogValue = string | number | boolean | null | readonly string[];
export type LogFields = Readonly<Record<string, LogValue | undefined>>;

export interface Logger {
  log(level: LogLevel, event: string, message: string, fields?: LogFields): void;
  info(event: string, message: string, fields?: LogFields): void;
  warn(event: string, message: string, fields?: LogFields): void;
  error(event: string, message: string, fields?: LogFields): void;
}

/** sd-daemon(3) priorities, which journald reads from a `<N>` line prefix. */
const SYSLOG_PRIORITY: Record<LogLevel, number> = { error: 3, warn: 4, info: 6, debug: 7 };

const fieldText = (v: LogValue): string => {
  const s = Array.isArray(v) ? v.join(",") : String(v);
  return /^[^\s"=]+$/.test(s) ? s : JSON.stringify(s);
};

export interface LineOptions {
  readonly format: LogFormat;
  /** Under journald: a priority prefix and no timestamp. */
  readonly journald: boolean;
  readonly now: Date;
}

/** One log line (without the newline); control characters in the message are escaped so a line stays one line. */
export function formatLogLine(level: LogLevel, event: string, message: string, fields: LogFields, o: LineOptions): string {
  const defined = Object.entries(fields).filter((e): e is [string, LogValue] => e[1] !== undefined);
  if (o.format === "json") return JSON.stringify({ time: o.now.toISOString(), level, event, message, ...Object.fromEntries(defined) });
  const oneLine = message.replace(/\r?\n/g, "; ");
  const tail = defined.map(([k, v]) => ` ${k}=${fieldText(v)}`).join("");
  const head = o.journald ? `<${SYSLOG_PRIORITY[level]}>` : `${o.now.toISOString()} `;
  return `${head}${level} ${event}: ${oneLine}${tail}`;
}

export function createLogger(format: LogFormat, write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const journald = Boolean(process.env.JOURNAL_STREAM);
  const log = (level: LogLevel, event: string, message: string, fields: LogFields = {}) =>
    write(`${formatLogLine(level, event, message, fields, { format, journald, now: new Date() })}\n`);
  return {
    log,
    info: (e, m, f) => log("info", e, m, f),
    warn: (e, m, f) => log("warn", e, m, f),
    error: (e, m, f) => log("error", e, m, f),
  };
}
