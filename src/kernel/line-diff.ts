// Line alignment by key (longest common subsequence) and a unified-diff printer. Lines compare by a
// key (a canonical form) but print their own text, so two spellings of the same rule are "equal".

export interface KeyedLine {
  readonly key: string;
  readonly text: string;
}

/** One step of an alignment: a line of both sides (equal keys), only of `a` (removed), or only of `b` (added). */
export type Step = { readonly op: "=" | "-" | "+"; readonly a: number | null; readonly b: number | null };

/** Above this many LCS cells the changed middle is printed as removed-then-added (still a correct diff). */
const MAX_LCS_CELLS = 4_000_000;

export function align(a: readonly string[], b: readonly string[]): Step[] {
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++;
  const steps: Step[] = [];
  for (let i = 0; i < pre; i++) steps.push({ op: "=", a: i, b: i });
  const n = a.length - pre - suf;
  const m = b.length - pre - suf;
  if (n * m > MAX_LCS_CELLS) {
    for (let i = 0; i < n; i++) steps.push({ op: "-", a: pre + i, b: null });
    for (let j = 0; j < m; j++) steps.push({ op: "+", a: null, b: pre + j });
  } else {
    // lcs[i][j] = LCS length of a[pre+i..] and b[pre+j..], row-major in one array.
    const w = m + 1;
    const lcs = new Uint32Array((n + 1) * w);
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        lcs[i * w + j] = a[pre + i] === b[pre + j] ? lcs[(i + 1) * w + j + 1]! + 1 : Math.max(lcs[(i + 1) * w + j]!, lcs[i * w + j + 1]!);
      }
    }
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && a[pre + i] === b[pre + j]) {
        steps.push({ op: "=", a: pre + i++, b: pre + j++ });
      } else if (j < m && (i === n || lcs[i * w + j + 1]! >= lcs[(i + 1) * w + j]!)) {
        steps.push({ op: "+", a: null, b: pre + j++ });
      } else {
        steps.push({ op: "-", a: pre + i++, b: null });
      }
    }
  }
  for (let k = 0; k < suf; k++) steps.push({ op: "=", a: a.length - suf + k, b: b.length - suf + k });
  return steps;
}

/** A unified diff (`---`/`+++` header, `@@` hunks, `context` lines around changes); "" when equal. */
export function unifiedDiff(a: readonly KeyedLine[], b: readonly KeyedLine[], labelA: string, labelB: string, context = 3): string {
  const steps = align(
    a.map((l) => l.key),
    b.map((l) => l.key),
  );
  const changed = steps.map((s) => s.op !== "=");
  if (!changed.includes(true)) return "";
  const out = [`--- ${labelA}`, `+++ ${labelB}`];
  let k = 0;
  while (k < steps.length) {
    if (!changed[k]) {
      k++;
      continue;
    }
    // A hunk: from `context` steps before this change to `context` steps after the last change that
    // is within 2*context of the previous one.
    const start = Math.max(0, k - context);
    let end = k;
    for (let j = k; j < steps.length && j <= end + 2 * context; j++) if (changed[j]) end = j;
    const stop = Math.min(steps.length, end + context + 1);
    const hunk = steps.slice(start, stop);
    const firstA = hunk.find((s) => s.a !== null)?.a;
    const firstB = hunk.find((s) => s.b !== null)?.b;
    const countA = hunk.filter((s) => s.a !== null).length;
    const countB = hunk.filter((s) => s.b !== null).length;
    const range = (first: number | null | undefined, count: number, before: number) =>
      `${count === 0 ? before : (first ?? 0) + 1}${count === 1 ? "" : `,${count}`}`;
    const beforeA = steps.slice(0, start).filter((s) => s.a !== null).length;
    const beforeB = steps.slice(0, start).filter((s) => s.b !== null).length;
    out.push(`@@ -${range(firstA, countA, beforeA)} +${range(firstB, countB, beforeB)} @@`);
    for (const s of hunk) {
      if (s.op === "=") out.push(` ${a[s.a!]!.text}`);
      else if (s.op === "-") out.push(`-${a[s.a!]!.text}`);
      else out.push(`+${b[s.b!]!.text}`);
    }
    k = stop;
  }
  return out.join("\n") + "\n";
}
