// A strict parser for the Prometheus text exposition format 0.0.4, for tests: every line must be a
// HELP/TYPE comment or a sample; names and labels must be well-formed, label values correctly escaped,
// values numbers; each family's TYPE comes before its samples, once; no series appears twice; summary
// samples are <name>_sum/<name>_count (or quantiles); the text ends with a newline.

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Exposition {
  readonly types: ReadonlyMap<string, string>;
  readonly help: ReadonlyMap<string, string>;
  readonly samples: readonly Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(["counter", "gauge", "summary", "histogram", "untyped"]);

export class ExpositionError extends Error {}

function parseValue(v: string, line: number): number {
  if (v === "+Inf") return Infinity;
  if (v === "-Inf") return -Infinity;
  if (v === "NaN") return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(v)) throw new ExpositionError(`line ${line}: bad value ${JSON.stringify(v)}`);
  return Number(v);
}

function parseLabels(text: string, line: number): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let i = 1; // after "{"
  const fail = (why: string) => new ExpositionError(`line ${line}: ${why} in ${JSON.stringify(text)}`);
  for (;;) {
    if (text[i] === "}") return { labels, rest: text.slice(i + 1) };
    const eq = text.indexOf("=", i);
    if (eq < 0) throw fail("label without =");
    const key = text.slice(i, eq);
    if (!LABEL.test(key)) throw fail(`bad label name ${JSON.stringify(key)}`);
    if (key in labels) throw fail(`label ${key} twice`);
    if (text[eq + 1] !== '"') throw fail("label value not quoted");
    let j = eq + 2;
    let value = "";
    for (; j < text.length && text[j] !== '"'; j++) {
      if (text[j] === "\\") {
        const next = text[++j];
        if (next === "\\") value += "\\";
        else if (next === '"') value += '"';
        else if (next === "n") value += "\n";
        else throw fail(`bad escape \\${next}`);
      } else if (text[j] === "\n") throw fail("newline in label value");
      else value += text[j];
    }
    if (j >= text.length) throw fail("unterminated label value");
    labels[key] = value;
    i = j + 1;
    if (text[i] === ",") i++;
    else if (text[i] !== "}") throw fail("expected , or }");
  }
}

export function parseExposition(text: string): Exposition {
  if (!text.endsWith("\n")) throw new ExpositionError("the text does not end with a newline");
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  const samples: Sample[] = [];
  const seen = new Set<string>();
  const sampled = new Set<string>();
  const familyOf = (name: string) => {
    if (types.has(name)) return name;
    for (const suffix of ["_sum", "_count", "_bucket"]) {
      const base = name.endsWith(suffix) ? name.slice(0, -suffix.length) : null;
      if (base && (types.get(base) === "summary" || types.get(base) === "histogram")) return base;
    }
    return null;
  };
  text
    .slice(0, -1)
    .split("\n")
    .forEach((raw, idx) => {
      const line = idx + 1;
      if (raw.trim() === "") return;
      if (raw.startsWith("#")) {
        const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(raw);
        if (!m) return; // other comments are allowed
        const [, what, name, rest] = m as unknown as [string, string, string, string];
        if (!NAME.test(name)) throw new ExpositionError(`line ${line}: bad metric name ${name}`);
        if (what === "TYPE") {
          if (!TYPES.has(rest)) throw new ExpositionError(`line ${line}: bad type ${rest}`);
          if (types.has(name)) throw new ExpositionError(`line ${line}: second TYPE for ${name}`);
          if (sampled.has(name)) throw new ExpositionError(`line ${line}: TYPE for ${name} after its samples`);
          types.set(name, rest);
        } else {
          if (help.has(name)) throw new ExpositionError(`line ${line}: second HELP for ${name}`);
          help.set(name, rest);
        }
        return;
      }
      const nameEnd = raw.search(/[{ ]/);
      if (nameEnd <= 0) throw new ExpositionError(`line ${line}: not a sample: ${JSON.stringify(raw)}`);
      const name = raw.slice(0, nameEnd);
      if (!NAME.test(name)) throw new ExpositionError(`line ${line}: bad metric name ${name}`);
      let rest = raw.slice(nameEnd);
      let labels: Record<string, string> = {};
      if (rest.startsWith("{")) ({ labels, rest } = parseLabels(rest, line));
      const parts = rest.trim().split(/\s+/);
      if (!rest.startsWith(" ") || parts.length < 1 || parts.length > 2) throw new ExpositionError(`line ${line}: bad sample ${JSON.stringify(raw)}`);
      const value = parseValue(parts[0]!, line);
      if (parts[1] !== undefined && !/^-?\d+$/.test(parts[1])) throw new ExpositionError(`line ${line}: bad timestamp`);
      const family = familyOf(name);
      if (family === null) throw new ExpositionError(`line ${line}: sample ${name} without a TYPE`);
      if (types.get(family) === "counter" && (value < 0 || Number.isNaN(value))) throw new ExpositionError(`line ${line}: negative counter`);
      const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
      if (seen.has(key)) throw new ExpositionError(`line ${line}: series ${key} twice`);
      seen.add(key);
      sampled.add(family);
      samples.push({ name, labels, value });
    });
  return { types, help, samples };
}

/** The value of the one sample with this name and these labels (all of them). */
export function sampleValue(e: Exposition, name: string, labels: Readonly<Record<string, string>> = {}): number | undefined {
  const want = JSON.stringify(Object.entries(labels).sort());
  return e.samples.find((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === want)?.value;
}
