// Terminal output helpers: data on stdout, diagnostics on stderr, colour only on a TTY without NO_COLOR.
import { formatDiagnostic, type Diagnostic } from "../config/diagnostics.js";

export function useColor(stream: NodeJS.WriteStream): boolean {
  return Boolean(stream.isTTY) && !("NO_COLOR" in process.env && process.env.NO_COLOR !== "") && process.env.TERM !== "dumb";
}

const COLORS = { error: "\x1b[31m", warning: "\x1b[33m", note: "\x1b[36m" } as const;

export function printDiagnostics(diags: readonly Diagnostic[], stream: NodeJS.WriteStream = process.stderr): void {
  const color = useColor(stream);
  for (const d of diags) {
    const line = formatDiagnostic(d);
    stream.write(color ? line.replace(`: ${d.severity}`, `: ${COLORS[d.severity]}${d.severity}\x1b[0m`) : line);
    stream.write("\n");
  }
}
