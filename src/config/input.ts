// Input sources: files, directories (*.yaml / *.yml in lexical order) and stdin ("-").
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

export interface SourceText {
  /** The name diagnostics use: the path as given, or `<stdin>`. */
  readonly file: string;
  readonly text: string;
}

export class InputError extends Error {}

function readStdin(): string {
  try {
    return readFileSync(0, "utf8");
  } catch (e) {
    throw new InputError(`cannot read standard input: ${(e as Error).message}`);
  }
}

export function readSources(inputs: readonly string[], stdin: () => string = readStdin): SourceText[] {
  const out: SourceText[] = [];
  for (const input of inputs) {
    if (input === "-") {
      out.push({ file: "<stdin>", text: stdin() });
      continue;
    }
    let isDir: boolean;
    try {
      isDir = statSync(input).isDirectory();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new InputError(code === "ENOENT" ? `${input}: no such file or directory` : `${input}: ${(e as Error).message}`);
    }
    const files = isDir
      ? readdirSync(input)
          .filter((n) => /\.ya?ml$/.test(n))
          .sort()
          .map((n) => join(input, n))
          .filter((p) => statSync(p).isFile())
      : [input];
    for (const file of files) {
      try {
        out.push({ file, text: readFileSync(file, "utf8") });
      } catch (e) {
        throw new InputError(`${file}: ${(e as Error).message}`);
      }
    }
  }
  return out;
}
