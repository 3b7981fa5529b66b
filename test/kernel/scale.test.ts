// Scale (semantics §6, Talos applies 500 rules in its own test): a 500-document configuration applies
// in one transaction and verifies by read-back, in both layouts. The time is printed, never asserted.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { after, describe, it } from "node:test";
import { createNetns, deleteNetns, kernelSkipReason } from "../support/netns.js";
import { defaultActionYaml, nftIn, ruleYaml, runCli, yamlStream } from "../support/lab.js";

const skip = kernelSkipReason();
const RULES = 500;

/** Rule i: two non-adjacent /24 subnets (one IPv6 /64) on a port and a small range, all distinct. */
function config(): string {
  const docs = [defaultActionYaml("block")];
  for (let i = 0; i < RULES; i++) {
    const port = 10000 + 4 * i;
    docs.push(
      ruleYaml(
        `rule-${i}`,
        i % 2 ? "udp" : "tcp",
        [port, `${port + 2}-${port + 3}`],
        [{ subnet: `10.${i >> 8}.${i & 255}.0/24` }, { subnet: `fd00:${i.toString(16)}::/64` }],
      ),
    );
  }
  return yamlStream(docs);
}

describe(`apply of a ${RULES}-rule configuration`, { skip }, () => {
  const work = skip ? "" : mkdtempSync(join(tmpdir(), "ingressfw-scale-"));
  after(() => rmSync(work, { recursive: true, force: true }));

  it("applies in one transaction, verifies, and re-applies as unchanged", async () => {
    const ns = createNetns("k3scale");
    try {
      const file = join(work, "rules.yaml");
      writeFileSync(file, config());
      const args = ["apply", "--layout", "per-rule", "--netns", ns, "--state-dir", join(work, "state"), file];

      const t0 = performance.now();
      const first = await runCli(args);
      const wall = performance.now() - t0;
      assert.equal(first.code, 0, first.stderr);
      const applied =
        /^applied table inet talos .*: ingress (\d+) rule\(s\), prerouting (\d+) rule\(s\); (\d+) rule\(s\) in one transaction, verified by read-back \((\d+) ms\)$/m.exec(
          first.stdout,
        );
      assert.ok(applied, first.stdout);
      // block mode: 6 preamble rules + 2 per document (IPv4 and IPv6) in ingress; prerouting: trusted,
      // not-for-node as two bare family accepts (the namespace has no node address, §8.9 G8), 2 per
      // document, 2 final drops.
      assert.equal(Number(applied[1]), 6 + 2 * RULES);
      assert.equal(Number(applied[2]), 3 + 2 * RULES + 2);
      assert.equal(
        nftIn(ns, ["list", "chain", "inet", "talos", "ingress"])
          .split("\n")
          .filter((l) => l.includes("counter")).length,
        6 + 2 * RULES,
      );

      const t1 = performance.now();
      const second = await runCli(args);
      const wallAgain = performance.now() - t1;
      assert.equal(second.code, 0, second.stderr);
      const unchanged = /^unchanged: .* \((\d+) ms\)$/m.exec(second.stdout);
      assert.ok(unchanged, second.stdout);

      console.log(
        `# ${RULES} documents → ${applied[3]} kernel rules: apply ${applied[4]} ms inside ingressfw (read, send, read back, compare), ` +
          `${Math.round(wall)} ms for the whole CLI run; unchanged re-apply ${unchanged[1]} ms (${Math.round(wallAgain)} ms CLI)`,
      );
    } finally {
      deleteNetns(ns);
    }
  });

  it("port-map (apply's default): one map lookup per protocol, one chain per document, unchanged on re-apply", async () => {
    const ns = createNetns("k6scale");
    try {
      const file = join(work, "rules-port-map.yaml");
      writeFileSync(file, config());
      const args = ["apply", "--netns", ns, "--state-dir", join(work, "state-port-map"), file];
      const first = await runCli(args);
      assert.equal(first.code, 0, first.stderr);
      // ingress: 6 preamble rules + a tcp and a udp map lookup; prerouting: trusted, two not-for-node, two lookups, two drops.
      const applied =
        /^applied table inet talos .*: ingress 8 rule\(s\), prerouting 7 rule\(s\) and (\d+) regular chain\(s\); (\d+) rule\(s\) in one transaction, verified by read-back \((\d+) ms\)$/m.exec(
          first.stdout,
        );
      assert.ok(applied, first.stdout);
      assert.equal(Number(applied[1]), RULES);
      assert.equal(Number(applied[2]), 15 + 2 * RULES, "each document's chain: an IPv4 and an IPv6 set lookup");
      const maps = nftIn(ns, ["list", "map", "inet", "talos", "p6_dports"]);
      assert.equal((maps.match(/: jump r\d+/g) ?? []).length, RULES, "2 elements per tcp document, 250 tcp documents");
      const second = await runCli(args);
      assert.equal(second.code, 0, second.stderr);
      const unchanged = /^unchanged: .* \((\d+) ms\)$/m.exec(second.stdout);
      assert.ok(unchanged, second.stdout);
      console.log(`# ${RULES} documents, port-map: apply ${applied[3]} ms inside ingressfw; unchanged re-apply ${unchanged[1]} ms`);
    } finally {
      deleteNetns(ns);
    }
  });
});
