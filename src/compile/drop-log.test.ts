// Drop logging in the compiler: the Talos documents' ruleset is unchanged by IngressLogConfig except for
// the added log rules and the named limit; nothing is added with `drops: false`; prefixes fit nft's limit.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../config/load.js";
import { parseAddress, type Address } from "../net/address.js";
import { evaluate } from "../evaluate/evaluate.js";
import { packet } from "../evaluate/test-support/packets.js";
import { createNetns, deleteNetns, inNetns, kernelSkipReason } from "../../test/support/netns.js";
import { dropLabel, dropPrefix, MAX_PREFIX_BYTES, parseDropPrefix } from "./drop-log.js";
import { compileRuleset } from "./index.js";
import { renderJson } from "./nft-json.js";
import { renderText } from "./nft-text.js";
import type { ProfileName } from "./profiles.js";
import { LAYOUT_NAMES, type LayoutName, type Ruleset } from "./ruleset.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const example = (path: string) => readFileSync(`${ROOT}${path}`, "utf8");
const LOG_ON = "apiVersion: ingressfw/v1alpha1\nkind: IngressLogConfig\ndrops: true\nrate: 3/second\nburst: 7\ngroup: 42\n";
const LOG_OFF = "apiVersion: ingressfw/v1alpha1\nkind: IngressLogConfig\ndrops: false\nrate: 3/second\n";
const NODE: Address[] = [parseAddress("172.20.0.2")!];

function compile(texts: readonly string[], profile: ProfileName, nodeAddresses: Address[] | null, layout: LayoutName = "per-rule"): Ruleset {
  const { config, diagnostics } = loadConfig(texts.map((text, i) => ({ file: `in${i}.yaml`, text })));
  assert.deepEqual(
    diagnostics.filter((d) => d.severity === "error"),
    [],
  );
  return compileRuleset(config, { profile, nodeAddresses, layout });
}

/** The listing without what logging adds: the limit block and every log rule. */
function withoutLogging(text: string): string {
  return text
    .replace(/ {2}limit drop-log \{\n.*\n {2}\}\n\n/, "")
    .split("\n")
    .filter((l) => !l.includes(" log prefix "))
    .join("\n");
}

const CASES = [
  { name: "seed controlplane (block)", yaml: example("examples/seed/controlplane.yaml") },
  { name: "learn-more accept", yaml: example("examples/learn-more/accept.yaml") },
  { name: "learn-more block", yaml: example("examples/learn-more/block.yaml") },
];

describe("drop logging in the compiled ruleset", () => {
  for (const c of CASES) {
    for (const [profile, layout] of [...LAYOUT_NAMES.map((l) => ["talos", l] as const), ["talos-1.7", "per-rule"] as const]) {
      for (const nodes of [NODE, null]) {
        const label = `${c.name}, ${profile}, ${layout}, ${nodes ? "with" : "without"} node addresses`;
        it(`${label}: drops: false changes nothing, byte for byte (text and JSON)`, () => {
          const talos = compile([c.yaml], profile, nodes, layout);
          const off = compile([c.yaml, LOG_OFF], profile, nodes, layout);
          assert.equal(renderText(off), renderText(talos));
          assert.equal(JSON.stringify(renderJson(off)), JSON.stringify(renderJson(talos)));
        });
        it(`${label}: drops: true only adds log rules and the limit`, () => {
          const talos = renderText(compile([c.yaml], profile, nodes, layout));
          const on = renderText(compile([c.yaml, LOG_ON], profile, nodes, layout));
          assert.notEqual(on, talos);
          assert.equal(withoutLogging(on), talos);
          assert.match(on, / {2}limit drop-log \{\n {4}rate 3\/second burst 7 packets\n {2}\}\n/);
        });
      }
    }
  }

  it("block mode: one log rule ends ingress, and one precedes each of prerouting's new-tcp/udp drops", () => {
    const rs = compile([example("examples/learn-more/block.yaml"), LOG_ON], "talos", NODE);
    const lines = renderText(rs)
      .split("\n")
      .map((l) => l.trim());
    const logs = lines.filter((l) => l.includes("log prefix"));
    assert.deepEqual(logs, [
      'limit name "drop-log" log prefix "ingressfw drop policy: " group 42',
      'ct state new meta l4proto tcp limit name "drop-log" log prefix "ingressfw drop policy: " group 42',
      'ct state new meta l4proto udp limit name "drop-log" log prefix "ingressfw drop policy: " group 42',
    ]);
    const ingressEnd = lines.indexOf(
      "}",
      lines.findIndex((l) => l.startsWith("chain ingress")),
    );
    assert.equal(lines[ingressEnd - 1], logs[0]);
    assert.equal(lines[lines.indexOf(logs[1]!) + 1], "ct state new meta l4proto tcp counter drop");
  });

  it("accept mode: every kernel drop rule of a document has a log rule with the same matches right before it", () => {
    const rs = compile([example("examples/learn-more/accept.yaml"), LOG_ON], "talos", NODE);
    for (const chain of rs.chains) {
      chain.rules.forEach((r, i) => {
        const isDrop = r.exprs.some((e) => e.type === "verdict" && e.verdict === "drop");
        if (!isDrop || r.origin.kind !== "rule") return;
        const before = chain.rules[i - 1]!;
        const matches = r.exprs.filter((e) => e.type !== "counter" && e.type !== "verdict");
        assert.deepEqual(before.exprs, [
          ...matches,
          { type: "limitRef", name: "drop-log" },
          { type: "log", prefix: `ingressfw drop NetworkRuleConfig/${r.origin.name}: `, group: 42 },
        ]);
      });
    }
    assert.ok(!renderText(rs).includes("policy: "), "accept mode has no drop policy to log");
  });

  it("the evaluator's verdicts and deciding rules do not change (log rules have no verdict)", () => {
    for (const yaml of [example("examples/learn-more/accept.yaml"), example("examples/learn-more/block.yaml")]) {
      const plain = compile([yaml], "talos", NODE);
      const logged = compile([yaml, LOG_ON], "talos", NODE);
      for (const [src, port] of [
        ["10.0.0.9", 50000],
        ["192.168.1.1", 50000],
        ["10.0.0.9", 22],
        ["203.0.113.1", 6443],
      ] as const) {
        const pkt = packet({ from: src, to: "172.20.0.2", proto: "tcp", port });
        const a = evaluate(plain, pkt);
        const b = evaluate(logged, pkt);
        assert.equal(b.verdict, a.verdict);
        if (a.verdict !== "depends" && b.verdict !== "depends") {
          const origin = (d: typeof a) => (d.by.kind === "rule" ? JSON.stringify(d.by.origin) : d.by.kind);
          assert.equal(origin(b), origin(a));
        }
      }
    }
  });
});

describe("log prefixes", () => {
  const pos = { file: "f", line: 1, col: 1 };
  it("name the document, or policy, and parse back", () => {
    assert.equal(dropPrefix(dropLabel({ kind: "rule", name: "kubelet-ingress", pos })), "ingressfw drop NetworkRuleConfig/kubelet-ingress: ");
    assert.equal(dropPrefix(dropLabel({ kind: "builtin", id: "new-tcp-drop" })), "ingressfw drop policy: ");
    assert.equal(parseDropPrefix("ingressfw drop NetworkRuleConfig/a: "), "NetworkRuleConfig/a");
    assert.equal(parseDropPrefix("someone else: "), null);
  });

  it("stay within 127 bytes, printable and distinct for long or odd names", () => {
    const names = ["x".repeat(300), `${"x".repeat(300)}y`, 'a "quoted" name', "a_quoted_name", "tab\there", "ünïcödé", "a b", "a_b"];
    const labels = names.map((name) => dropLabel({ kind: "rule", name, pos }));
    for (const l of labels) {
      const prefix = dropPrefix(l);
      assert.ok(Buffer.byteLength(prefix) <= MAX_PREFIX_BYTES, prefix);
      assert.match(l, /^[A-Za-z0-9._/:@+=~-]+$/);
      assert.equal(parseDropPrefix(prefix), l);
    }
    assert.equal(new Set(labels).size, labels.length);
    assert.equal(labels[5], dropLabel({ kind: "rule", name: "ünïcödé", pos }), "deterministic");
  });
});

describe("drop logging in the kernel", { skip: kernelSkipReason() }, () => {
  it("the rendered text and JSON load, and list the log rules and the named limit (odd names included)", () => {
    const odd = `apiVersion: v1alpha1\nkind: NetworkRuleConfig\nname: '${"n".repeat(150)} "q"'\nportSelector:\n  ports: [22]\n  protocol: tcp\ningress:\n  - subnet: 10.0.0.0/8\n`;
    const rs = compile([example("examples/learn-more/accept.yaml"), odd, LOG_ON], "talos", NODE);
    for (const form of ["text", "json"] as const) {
      const ns = createNetns("lgk");
      try {
        if (form === "text") inNetns(ns, "nft", ["-f", "-"], renderText(rs));
        else {
          const file = `/tmp/ingressfw-droplog-${process.pid}.json`;
          execFileSync("sh", ["-c", `cat > ${file}`], { input: JSON.stringify(renderJson(rs)) });
          try {
            inNetns(ns, "nft", ["-j", "-f", file]);
          } finally {
            execFileSync("rm", ["-f", file]);
          }
        }
        const listed = inNetns(ns, "nft", ["list", "table", "inet", "talos"]);
        assert.match(listed, /limit drop-log \{\n\s+rate 3\/second burst 7 packets\n/);
        const logLines = listed.split("\n").filter((l) => l.includes("log prefix"));
        assert.equal(
          logLines.length,
          renderText(rs)
            .split("\n")
            .filter((l) => l.includes("log prefix")).length,
        );
        for (const l of logLines) assert.match(l, /limit name "drop-log" log prefix "ingressfw drop [^"]+: " group 42$/);
      } finally {
        deleteNetns(ns);
      }
    }
  });
});
