// Fuzz: random and mutated YAML never crashes the validate path. Thousands of inputs go through what the CLI
// runs in-process (checkInput, then compile + both renderers when valid); a few dozen go through the real CLI
// process. Every outcome must be exit 0 or 65 with every diagnostic positioned at file:line:col (line, col >= 1).
// The seed is fixed (override with INGRESSFW_FUZZ_SEED) and printed; a failure names the seed and case number.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { checkInput } from "../src/cli/load-input.js";
import { compileRuleset } from "../src/compile/index.js";
import { renderJson } from "../src/compile/nft-json.js";
import { renderText } from "../src/compile/nft-text.js";
import { formatDiagnostic, hasErrors } from "../src/config/diagnostics.js";
import type { ProfileName } from "../src/config/model.js";
import { parseAddress, type Address } from "../src/net/address.js";

const SEED = Number(process.env.INGRESSFW_FUZZ_SEED ?? 0x1f2e3d4c);
const IN_PROCESS_CASES = 3000;
const CLI_CASES = 30;
const CLI_CONCURRENCY = 2;
const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** mulberry32: small, fast, and the same sequence everywhere for a given seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rand = () => number;
const int = (r: Rand, n: number) => Math.floor(r() * n);
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[int(r, xs.length)]!;

const yaml = (...lines: string[]) => lines.join("\n") + "\n";
const RULE = (name: string, ...rest: string[]) => yaml("apiVersion: v1alpha1", "kind: NetworkRuleConfig", `name: ${name}`, ...rest);

/** Seed inputs: the gold and example configurations of the spec, plus the edge cases of §3. */
function seeds(): string[] {
  const examples = join(ROOT, "examples", "learn-more");
  const files = readdirSync(examples)
    .filter((n) => n.endsWith(".yaml"))
    .sort()
    .map((n) => readFileSync(join(examples, n), "utf8"));
  const block = yaml("apiVersion: v1alpha1", "kind: NetworkDefaultActionConfig", "ingress: block");
  return [
    ...files,
    // §8.2 controller case
    block +
      "---\n" +
      RULE(
        "kubelet-ingress",
        "portSelector: {ports: [10250], protocol: tcp}",
        "ingress:",
        "  - subnet: 10.0.0.0/8",
        "    except: 10.3.0.0/16",
        "  - subnet: 192.168.0.0/16",
      ) +
      "---\n" +
      RULE("apid-ingress", "portSelector: {ports: [50000], protocol: tcp}", "ingress:", "  - subnet: 0.0.0.0/0"),
    // §3.5 parse fixture
    RULE(
      "test",
      "portSelector:",
      "    ports:",
      "        - 53",
      "        - 8000-9000",
      "    protocol: udp",
      "ingress:",
      "    - subnet: 192.168.0.0/16",
      "      except: 192.168.0.3/32",
      "    - subnet: 2001::/16",
    ),
    // seed documentation, controlplane, placeholders filled in
    block +
      "---\n" +
      RULE(
        "etcd-ingress",
        "portSelector:",
        "  ports:",
        "    - 2379-2380",
        "  protocol: tcp",
        "ingress:",
        "  - subnet: 172.20.0.2/32",
        "  - subnet: 172.20.0.3/32",
      ) +
      "---\n" +
      RULE("cni-vxlan", "portSelector:", "  ports:", "    - 4789", "  protocol: udp", "ingress:", "  - subnet: 172.20.0.0/24"),
    // main document with cluster network and host DNS (§3.11, §8.9)
    yaml(
      "version: v1alpha1",
      "machine:",
      "  features:",
      "    hostDNS:",
      "      forwardKubeDNSToHost: true",
      "cluster:",
      "  network:",
      "    podSubnets: [10.244.0.0/16, fd00:10:244::/56]",
      "    serviceSubnets: [10.96.0.0/12, fd00:10:96::/112]",
    ) +
      "---\n" +
      block,
    // edge cases: no protocol, port 0, host bits, ICMP ports, hex and leading zeros, mapped IPv6, excepts
    RULE(
      "edges",
      "portSelector:",
      "  ports: [0, 0x50, 081-090, 65535, 1000-2000]",
      "  protocol: ICMPv6",
      "ingress:",
      "  - subnet: 10.0.0.5/8",
      "    except: ::ffff:10.0.0.0/104",
      "  - subnet: ::/0",
      "    except: fe80::1/128",
      "  - subnet: 0.0.0.0/0",
    ) +
      "---\n" +
      RULE("noproto", "portSelector: {ports: [1-65535]}") +
      "---\n" +
      yaml("apiVersion: v1alpha1", "kind: NetworkRuleConfg", "name: typo") +
      "---\n" +
      yaml("apiVersion: v1alpha1", "kind: KubeNetworkConfig", "podSubnets: [1.2.3.0/24]"),
    // invalid seeds (§8.6)
    RULE(
      '""',
      "portSelector:",
      '  ports: ["8081-8080", 1000-2000, 1500-2500, 70000]',
      "  protocol: esp",
      "ingress: [{except: 10.0.0.1/32}, {subnet: 10.0.0.1}]",
    ),
    block + "---\n" + block.replace("block", "drop"),
  ];
}

const SCALARS = [
  "0",
  "80",
  "65535",
  "65536",
  "-1",
  "80-90",
  "90-80",
  '"80"',
  "0x50",
  "080",
  "80.0",
  "80.5",
  "1e3",
  ".inf",
  "null",
  "~",
  "",
  "tcp",
  "UDP",
  "icmpv6",
  "ipv6-icmp",
  "esp",
  "block",
  "Accept",
  "drop",
  "true",
  "false",
  "v1alpha1",
  "v1alpha2",
  "NetworkRuleConfig",
  "NetworkDefaultActionConfig",
  "KubeNetworkConfig",
  "10.0.0.0/8",
  "10.0.0.1",
  "0.0.0.0/0",
  "::/0",
  "::ffff:1.2.3.4/128",
  "fe80::1%eth0/64",
  "010.1.2.0/24",
  "2001:DB8::/32",
  "10.0.0.0/33",
  '""',
  "''",
  "[]",
  "{}",
  "[a, b]",
  "{subnet: 10.0.0.0/8}",
  "[10.0.0.0/8, ::/0]",
  "- x",
  "&a x",
  "*a",
  "!!str 80",
  "!!int 80",
  "!!binary aGk=",
  "|",
  ">-",
  "'it''s'",
  '"\\u0000"',
  '"\\x41"',
  "é",
  "💥",
  "#comment",
  "@",
  "`",
  "%YAML 1.1",
  "? complex",
  "<<: *a",
];
const KEYS = [
  "apiVersion",
  "kind",
  "name",
  "portSelector",
  "ports",
  "protocol",
  "ingress",
  "subnet",
  "except",
  "version",
  "cluster",
  "network",
  "podSubnets",
  "x",
];
const CHARS = [..."abz09-:,[]{}#&*!|>'\"%@`?\\/. \t\n", "\r", "\u00a0", "\ufeff", "é", "💥", "\u0000"];

function mutateOnce(r: Rand, text: string, pool: readonly string[]): string {
  const lines = text.split("\n");
  const at = int(r, lines.length);
  switch (int(r, 11)) {
    case 0: // delete a line
      lines.splice(at, 1);
      break;
    case 1: // duplicate a line
      lines.splice(at, 0, lines[at]!);
      break;
    case 2: {
      // swap two lines
      const other = int(r, lines.length);
      [lines[at], lines[other]] = [lines[other]!, lines[at]!];
      break;
    }
    case 3:
    case 4: {
      // change a scalar: whatever follows `key:` or `- ` on the line
      const line = lines[at]!;
      const m = /^(\s*(?:- )?(?:[^:#]+:\s*)?)(.*)$/.exec(line);
      lines[at] = m ? m[1] + pick(r, SCALARS) : line;
      break;
    }
    case 5: {
      // insert random characters
      const s = lines.join("\n");
      const pos = int(r, s.length + 1);
      const n = 1 + int(r, 4);
      const ins = Array.from({ length: n }, () => pick(r, CHARS)).join("");
      return s.slice(0, pos) + ins + s.slice(pos);
    }
    case 6: {
      // delete a random span of characters
      const s = lines.join("\n");
      const pos = int(r, s.length + 1);
      return s.slice(0, pos) + s.slice(pos + 1 + int(r, 8));
    }
    case 7: {
      // type change: a value becomes a list or a mapping, or a mapping value becomes a scalar
      const line = lines[at]!;
      const m = /^(\s*(?:- )?[^:#]+:)\s*(.*)$/.exec(line);
      if (m) lines[at] = `${m[1]} ${pick(r, [`[${m[2]}]`, `{a: ${m[2]}}`, `[${m[2]}, ${m[2]}]`, "5", "null", "- oops"])}`;
      break;
    }
    case 8: // re-indent a line
      lines[at] = pick(r, ["", " ", "  ", "    ", "\t"]) + lines[at]!.trimStart();
      break;
    case 9: // insert a key somewhere
      lines.splice(at, 0, `${" ".repeat(pick(r, [0, 2, 4]))}${pick(r, KEYS)}: ${pick(r, SCALARS)}`);
      break;
    case 10: // splice in another seed or a document separator
      lines.splice(at, 0, ...(r() < 0.5 ? ["---"] : pick(r, pool).split("\n")));
      break;
  }
  return lines.join("\n");
}

function randomPrefix(r: Rand): string {
  if (r() < 0.5) {
    const octets = Array.from({ length: 4 }, () => pick(r, [0, 1, 10, 127, 172, 192, 255, int(r, 256)]));
    return `${octets.join(".")}/${pick(r, [0, 8, 16, 24, 32, int(r, 33)])}`;
  }
  const words = Array.from({ length: 8 }, () => pick(r, [0, 0, 0, 0xffff, 0x2001, 0xfe80, int(r, 0x10000)]).toString(16));
  return `${words.join(":")}/${pick(r, [0, 16, 64, 96, 104, 128, int(r, 129)])}`;
}

/** A valid configuration with random rules, so that compilation and rendering see varied sets. */
function randomValidConfig(r: Rand): string {
  const docs: string[] = [];
  if (r() < 0.6) docs.push(yaml("apiVersion: v1alpha1", "kind: NetworkDefaultActionConfig", `ingress: ${pick(r, ["block", "accept", "Block"])}`));
  if (r() < 0.3) {
    const subnets = () => `[${Array.from({ length: int(r, 3) }, () => randomPrefix(r)).join(", ")}]`;
    docs.push(
      yaml(
        "version: v1alpha1",
        "machine: {features: {hostDNS: {forwardKubeDNSToHost: " + String(r() < 0.5) + "}}}",
        "cluster:",
        "  network:",
        `    podSubnets: ${subnets()}`,
        `    serviceSubnets: ${subnets()}`,
      ),
    );
  }
  const rules = int(r, 5);
  for (let i = 0; i < rules; i++) {
    // disjoint, non-adjacent ranges from sorted distinct cut points
    const cuts = [...new Set(Array.from({ length: 2 * (1 + int(r, 3)) }, () => pick(r, [0, 1, 53, 80, 443, 65534, 65535, int(r, 65536)])))].sort(
      (a, b) => a - b,
    );
    const ports: string[] = [];
    for (let j = 0; j + 1 < cuts.length; j += 3) ports.push(r() < 0.5 ? String(cuts[j]) : `${cuts[j]}-${cuts[j + 1]}`);
    const entries = Array.from({ length: int(r, 4) }, () => `  - subnet: ${randomPrefix(r)}` + (r() < 0.4 ? `\n    except: ${randomPrefix(r)}` : ""));
    const protocol = pick(r, ["tcp", "udp", "icmp", "icmpv6", null]);
    docs.push(
      RULE(
        `r${i}`,
        "portSelector:",
        `  ports: [${ports.length > 0 ? ports.join(", ") : "1"}]`,
        ...(protocol ? [`  protocol: ${protocol}`] : []),
        ...(entries.length > 0 ? ["ingress:", ...entries] : []),
      ),
    );
  }
  return docs.join("---\n");
}

/** A random input; `valid` when it was generated valid and not mutated. */
function randomInput(r: Rand, pool: readonly string[]): { text: string; valid: boolean } {
  const kind = r();
  if (kind < 0.03) {
    // pure noise
    return { text: Array.from({ length: int(r, 200) }, () => pick(r, CHARS)).join(""), valid: false };
  }
  if (kind < 0.25) return { text: randomValidConfig(r), valid: true };
  let text = kind < 0.4 ? randomValidConfig(r) : pick(r, pool);
  // mostly one or two mutations, so that a fair share of the inputs stays valid and reaches the compiler
  const rounds = r() < 0.5 ? 1 : 2 + int(r, 3);
  for (let i = 0; i < rounds; i++) text = mutateOnce(r, text, pool);
  return { text, valid: false };
}

const NODE_ADDRESSES: (readonly Address[] | null)[] = [null, [], [parseAddress("10.3.4.5")!, parseAddress("2001:db8::5")!]];
const PROFILES: ProfileName[] = ["talos", "talos-1.7"];

interface RunOptions {
  readonly profile: ProfileName;
  readonly strict: boolean;
  readonly verbose: boolean;
  readonly nodeAddresses: readonly Address[] | null;
}

const drawOptions = (r: Rand): RunOptions => ({
  profile: pick(r, PROFILES),
  strict: r() < 0.2,
  verbose: r() < 0.5,
  nodeAddresses: pick(r, NODE_ADDRESSES),
});

/**
 * The CLI's validate/render path in-process; returns the exit code it would end with.
 * Throws on a crash or a badly positioned diagnostic.
 */
function runInProcess(file: string, text: string, opts: RunOptions): number {
  const lineCount = text.split(/\r\n|\r|\n/).length;
  const checked = checkInput([file], opts);
  for (const d of checked.diagnostics) {
    const shown = formatDiagnostic(d);
    assert.equal(d.pos.file, file, shown);
    assert.ok(Number.isInteger(d.pos.line) && d.pos.line >= 1 && d.pos.line <= lineCount + 1, `line out of range: ${shown}`);
    assert.ok(Number.isInteger(d.pos.col) && d.pos.col >= 1, `col out of range: ${shown}`);
    assert.ok(d.message.length > 0, `empty message: ${shown}`);
    assert.ok(!/[\n\r]/.test(shown), `a diagnostic must print as one line: ${JSON.stringify(shown)}`);
  }
  if (hasErrors(checked.diagnostics)) assert.equal(checked.valid, false);
  if (!checked.valid) return 65;
  const rs = compileRuleset(checked.config, opts);
  assert.equal(typeof renderText(rs), "string");
  assert.equal(typeof JSON.stringify(renderJson(rs)), "string");
  return 0;
}

interface CliResult {
  readonly code: number | null;
  readonly stderr: string;
}

function runCli(file: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "src", "cli", "bin.ts"), "validate", file], {
      cwd: ROOT,
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, NO_COLOR: "1", INGRESSFW_DEBUG: "" },
    });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe(`fuzz (seed ${SEED})`, () => {
  let dir = "";
  const pool = seeds();
  /** Cases kept for the CLI run, with the in-process exit code when --strict was not drawn. */
  const saved: { file: string; text: string; expected: number | null }[] = [];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "ingressfw-fuzz-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("the seed inputs behave as expected", () => {
    const codes = pool.map((text, i) => {
      const file = join(dir, `seed-${i}.yaml`);
      writeFileSync(file, text);
      return runInProcess(file, text, { profile: "talos", strict: false, verbose: true, nodeAddresses: NODE_ADDRESSES[2]! });
    });
    // all seeds but the two deliberately invalid ones are valid
    assert.deepEqual(codes, [...Array<number>(pool.length - 2).fill(0), 65, 65]);
  });

  it(`${IN_PROCESS_CASES} mutated inputs through checkInput + compile + render never crash`, (t) => {
    t.diagnostic(`seed ${SEED} (set INGRESSFW_FUZZ_SEED to change)`);
    const r = rng(SEED);
    const tally = { 0: 0, 65: 0 } as Record<number, number>;
    const file = join(dir, "case.yaml");
    for (let i = 0; i < IN_PROCESS_CASES; i++) {
      const { text, valid } = randomInput(r, pool);
      writeFileSync(file, text);
      const opts = drawOptions(r);
      let code: number;
      try {
        code = runInProcess(file, text, opts);
      } catch (e) {
        const why = e instanceof assert.AssertionError ? e.message : `crash: ${(e as Error).stack}`;
        throw new Error(`${why}\nat seed ${SEED}, case ${i}; input:\n${text}`, { cause: e });
      }
      if (valid && !opts.strict) assert.equal(code, 0, `a generated valid input was rejected: seed ${SEED}, case ${i}; input:\n${text}`);
      tally[code] = (tally[code] ?? 0) + 1;
      // keep a spread of valid and invalid cases for the CLI run
      if (saved.length < CLI_CASES && i % Math.floor(IN_PROCESS_CASES / CLI_CASES / 2) === 0) {
        const copy = join(dir, `cli-${i}.yaml`);
        writeFileSync(copy, text);
        saved.push({ file: copy, text, expected: opts.strict ? null : code });
      }
    }
    t.diagnostic(`exit 0: ${tally[0]}, exit 65: ${tally[65]}`);
    // The mutations must reach both outcomes, or the fuzzer is not exploring.
    assert.ok(tally[0]! > IN_PROCESS_CASES / 20 && tally[65]! > IN_PROCESS_CASES / 20, JSON.stringify(tally));
  });

  it(`${CLI_CASES} of them through the real CLI process: exit 0 or 65, no stack trace`, async () => {
    assert.ok(saved.length > 0, "the in-process run saves cases for this test");
    const queue = [...saved];
    const worker = async () => {
      for (let c = queue.shift(); c; c = queue.shift()) {
        const { code, stderr } = await runCli(c.file);
        const where = `seed ${SEED}, ${c.file}; input:\n${c.text}\nstderr:\n${stderr}`;
        assert.ok(code === 0 || code === 65, `exit ${code} at ${where}`);
        assert.doesNotMatch(stderr, /^\s+at .+:\d+:\d+\)?$/m, `stack trace at ${where}`);
        assert.doesNotMatch(stderr, /internal error/, where);
        if (c.expected !== null) assert.equal(code, c.expected, `the CLI and the in-process run disagree at ${where}`);
        for (const line of stderr.split("\n").filter((l) => l.startsWith(c.file))) {
          assert.match(line, /^.+:[1-9]\d*:[1-9]\d*: (error|warning\[W\d{3}\]|note(\[W\d{3}\])?): /, where);
        }
      }
    };
    await Promise.all(Array.from({ length: CLI_CONCURRENCY }, worker));
  });
});
