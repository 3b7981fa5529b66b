// `ingressfw check` through the real CLI process (the seed's controlplane questions, usage errors,
// --flows from a file and stdin, --live in a throwaway namespace) and in-process: the packet options,
// and a property test that the JSON report always carries a verdict.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, describe, test } from "node:test";
import fc from "fast-check";
import { parseAddress, type Address } from "../../net/address.js";
import { evaluate } from "../../evaluate/evaluate.js";
import { compileYaml } from "../../evaluate/test-support/packets.js";
import { createNetns, inNetns, kernelSkipReason } from "../../../test/support/netns.js";
import { UserError } from "../exit-codes.js";
import { packetFromOptions, packetReportJson, type PacketOptions } from "./check.js";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const CONTROLPLANE = join(ROOT, "examples", "seed", "controlplane.yaml");

interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function cli(args: readonly string[], stdin = ""): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "src", "cli", "bin.ts"), ...args], {
      cwd: ROOT,
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1", INGRESSFW_DEBUG: "" },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
    child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(stdin);
  });
}

interface DecisionJson {
  verdict: string;
  text: string;
  decidedBy: {
    kind: string;
    chain?: string;
    index?: number;
    nft?: string;
    origin?: { kind: string; name?: string; id?: string; file?: string; line?: number; col?: number };
  };
}

async function checkJson(...args: string[]): Promise<DecisionJson> {
  const r = await cli(["check", CONTROLPLANE, "--output", "json", ...args]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as DecisionJson;
}

describe("check on the seed's controlplane example (real CLI process)", () => {
  test("external -> 50000: accept by apid-ingress", async () => {
    const j = await checkJson("--from", "203.0.113.7", "--proto", "tcp", "--port", "50000");
    assert.equal(j.verdict, "accept");
    assert.equal(j.decidedBy.kind, "rule");
    assert.equal(j.decidedBy.origin?.name, "apid-ingress");
    assert.equal(j.decidedBy.nft, "meta nfproto ipv4 tcp dport { 50000 } counter accept");
  });

  test("external -> 10250: drop by the policy", async () => {
    const j = await checkJson("--from", "203.0.113.7", "--proto", "tcp", "--port", "10250");
    assert.equal(j.verdict, "drop");
    assert.deepEqual(j.decidedBy, { kind: "policy", chain: "ingress", hook: "input", verdict: "drop" });
  });

  test("cluster (172.20.0.5) -> 10250: accept by kubelet-ingress, with its document position and nft text", async () => {
    const j = await checkJson("--from", "172.20.0.5", "--proto", "tcp", "--port", "10250");
    assert.equal(j.verdict, "accept");
    assert.deepEqual(j.decidedBy.origin, { kind: "rule", name: "kubelet-ingress", file: CONTROLPLANE, line: 9, col: 1 });
    assert.equal(j.decidedBy.chain, "ingress");
    assert.equal(j.decidedBy.index, 6);
    assert.equal(j.decidedBy.nft, "ip saddr { 172.20.0.0/24 } tcp dport { 10250 } counter accept");
  });

  test("IPv6 -> 10250: drop by the policy", async () => {
    const j = await checkJson("--from", "2001:db8::7", "--proto", "tcp", "--port", "10250");
    assert.equal(j.verdict, "drop");
    assert.equal(j.decidedBy.kind, "policy");
  });

  test("text output names the rule, file:line:col, chain and nft text; exit 0 also for a drop", async () => {
    const ok = await cli(["check", CONTROLPLANE, "--from", "172.20.0.5", "--proto", "tcp", "--port", "10250"]);
    assert.equal(ok.code, 0);
    assert.equal(
      ok.stdout,
      [
        'accept: tcp 172.20.0.5 -> 192.0.2.1 port 10250, iifname "eth0", ct state new',
        `  chain ingress (input hook): accept by rule 6, NetworkRuleConfig/kubelet-ingress (${CONTROLPLANE}:9:1)`,
        "      ip saddr { 172.20.0.0/24 } tcp dport { 10250 } counter accept",
        "",
      ].join("\n"),
    );
    const drop = await cli(["check", CONTROLPLANE, "--from", "203.0.113.7", "--proto", "tcp", "--port", "10250"]);
    assert.equal(drop.code, 0);
    assert.match(drop.stdout, /^drop: tcp 203\.0\.113\.7 -> 192\.0\.2\.1 port 10250/);
    assert.match(drop.stdout, /chain ingress \(input hook\): drop by the chain's policy/);
  });

  test("ICMP is reported as rate-limited, with the verdict above the rate", async () => {
    const r = await cli(["check", CONTROLPLANE, "--from", "203.0.113.7", "--proto", "icmp"]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^accept \(rate-limited: 5\/s\): icmp 203\.0\.113\.7 -> 192\.0\.2\.1 type 8/);
    assert.match(r.stdout, /above 5\/s: drop/);
  });

  test("with a node address: the packet goes to it and meets prerouting first", async () => {
    const j = (await checkJson("--node-address", "172.20.0.2", "--from", "203.0.113.7", "--proto", "tcp", "--port", "10250")) as DecisionJson & {
      chains: { chain: string }[];
      packet: { dst: string };
    };
    assert.equal(j.packet.dst, "172.20.0.2");
    assert.equal(j.verdict, "drop");
    assert.equal(j.decidedBy.chain, "prerouting");
    assert.deepEqual([j.decidedBy.origin?.kind, j.decidedBy.origin?.id], ["builtin", "new-tcp-drop"]);
    assert.deepEqual(
      j.chains.map((c) => c.chain),
      ["prerouting"],
    );
  });

  test("usage errors exit 64 with one line", async () => {
    for (const args of [
      ["--from", "203.0.113.7"],
      ["--from", "203.0.113.7", "--proto", "icmp", "--port", "1"],
      ["--from", "2001:db8::1", "--proto", "icmp"],
      ["--from", "203.0.113.7", "--to", "2001:db8::1", "--proto", "tcp"],
      ["--from", "203.0.113.7", "--proto", "tcp", "--flows", "-"],
      ["--proto", "tcp", "--port", "1", "--flows", "-"],
      ["--from", "203.0.113.700", "--proto", "tcp"],
      ["--from", "203.0.113.7", "--proto", "sctp"],
      ["--from", "203.0.113.7", "--proto", "tcp", "--port", "65536"],
      ["--from", "203.0.113.7", "--proto", "tcp", "--netns", "x"],
    ]) {
      const r = await cli(["check", CONTROLPLANE, ...args]);
      assert.equal(r.code, 64, `${args.join(" ")}: ${r.stderr}`);
      assert.equal(r.stdout, "");
    }
  });
});

describe("check --flows (real CLI process)", () => {
  const dir = mkdtempSync(join(tmpdir(), "ingressfw-check-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("CSV from stdin: drops grouped by port and source, then the summary", async () => {
    const csv =
      "proto,src,dst,dport\ntcp,203.0.113.7,172.20.0.2,10250\ntcp,203.0.113.7,172.20.0.2,50000\ntcp,172.20.0.5,172.20.0.2,10250\nudp,198.51.100.4,172.20.0.2,4789\n";
    const r = await cli(["check", CONTROLPLANE, "--flows", "-"], csv);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.split("\n"), [
      "Would be dropped (each flow replayed as a new connection):",
      "  tcp/10250: 1 flow",
      "    from 203.0.113.7: 1 flow to 172.20.0.2 — policy of chain ingress (no rule matched)",
      "  udp/4789: 1 flow",
      "    from 198.51.100.4: 1 flow to 172.20.0.2 — policy of chain ingress (no rule matched)",
      "Summary: 4 flows: 2 accepted, 2 dropped.",
      "Local addresses unknown (no --node-address): every flow is taken to be addressed to this host.",
      "",
    ]);
  });

  test("a conntrack -L file with node addresses: flows not for this host are counted apart; bad lines warned on stderr", async () => {
    const file = join(dir, "ct.txt");
    writeFileSync(
      file,
      [
        "tcp      6 431999 ESTABLISHED src=172.20.0.9 dst=172.20.0.2 sport=51234 dport=22 src=172.20.0.2 dst=172.20.0.9 sport=22 dport=51234 [ASSURED] mark=0 use=1",
        "tcp      6 431999 ESTABLISHED src=172.20.0.2 dst=1.1.1.1 sport=40003 dport=443 src=1.1.1.1 dst=172.20.0.2 sport=443 dport=40003 [ASSURED] mark=0 use=1",
        "garbage",
        "",
      ].join("\n"),
    );
    const r = await cli(["check", CONTROLPLANE, "--flows", file, "--node-address", "172.20.0.2", "--output", "json"]);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as { summary: Record<string, number>; drops: { port: number; sources: { src: string }[] }[] };
    assert.deepEqual(j.summary, { flows: 2, accepted: 0, rateLimited: 0, dropped: 1, undetermined: 0, notForThisHost: 1, unreadLines: 1 });
    assert.equal(j.drops[0]?.port, 22);
    assert.equal(j.drops[0]?.sources[0]?.src, "172.20.0.9");
    assert.match(r.stderr, /ct\.txt:3: warning: neither a conntrack -L line nor CSV/);
  });
});

describe("check --live in a throwaway namespace", { skip: kernelSkipReason() }, () => {
  test("reads the namespace's conntrack table, discovers its addresses, reports what the candidate would drop", async () => {
    const server = createNetns("ifwchk-s");
    const client = createNetns("ifwchk-c");
    for (const ns of [server, client]) inNetns(ns, "sysctl", ["-qw", "net.ipv6.conf.all.disable_ipv6=1"]);
    execFileSync("ip", ["-n", server, "link", "add", "v0", "type", "veth", "peer", "name", "v1", "netns", client]);
    for (const [ns, dev, addrs] of [
      [server, "v0", ["172.20.0.2/24", "198.51.100.1/24"]],
      [client, "v1", ["172.20.0.5/24", "198.51.100.7/24"]],
    ] as const) {
      for (const a of addrs) execFileSync("ip", ["-n", ns, "addr", "add", a, "dev", dev]);
      execFileSync("ip", ["-n", ns, "link", "set", dev, "up"]);
    }
    // Connection tracking runs in a namespace only once a rule there needs it.
    inNetns(
      server,
      "nft",
      ["-f", "-"],
      "table inet ifwchk {\n chain pre {\n  type filter hook prerouting priority 0; policy accept;\n  ct state new counter\n }\n}\n",
    );
    for (const [dst, port] of [
      ["172.20.0.2", 4789],
      ["198.51.100.1", 4789],
      ["172.20.0.2", 5353],
    ] as const) {
      inNetns(client, "bash", ["-c", `echo x > /dev/udp/${dst}/${port}`]);
    }
    const r = await cli(["check", CONTROLPLANE, "--live", "--netns", server, "--output", "json"]);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as {
      summary: Record<string, number>;
      drops: { protocol: string; port: number; sources: { src: string; decidedBy: { kind: string; chain: string; origin?: { id?: string } }[] }[] }[];
    };
    assert.deepEqual(j.summary, { flows: 3, accepted: 1, rateLimited: 0, dropped: 2, undetermined: 0, notForThisHost: 0, unreadLines: 0 });
    assert.deepEqual(
      j.drops.map((g) => [g.protocol, g.port, g.sources.map((s) => [s.src, s.decidedBy.map((d) => `${d.chain}:${d.origin?.id ?? d.kind}`)])]),
      [
        ["udp", 4789, [["198.51.100.7", ["prerouting:new-udp-drop"]]]],
        ["udp", 5353, [["172.20.0.5", ["prerouting:new-udp-drop"]]]],
      ],
    );
  });

  test("an unknown namespace is a one-line error", async () => {
    const r = await cli(["check", CONTROLPLANE, "--live", "--netns", "ifwchk-does-not-exist"]);
    assert.equal(r.code, 64, r.stderr);
    assert.match(r.stderr, /^ingressfw: unknown network namespace "ifwchk-does-not-exist"/m);
  });
});

describe("packet options (in-process)", () => {
  const ip = (t: string) => parseAddress(t) as Address;
  const base: PacketOptions = { iface: "eth0", state: "new" };

  test("--to defaults to the first node address of the family, else a documentation address", () => {
    assert.equal(packetFromOptions({ ...base, from: ip("203.0.113.7"), proto: "tcp" }, [ip("2001:db8::5"), ip("10.3.4.5")]).dst, ip("10.3.4.5").value);
    assert.equal(packetFromOptions({ ...base, from: ip("203.0.113.7"), proto: "tcp" }, []).dst, ip("192.0.2.1").value);
    assert.equal(packetFromOptions({ ...base, from: ip("2001:db8::7"), proto: "tcp" }, []).dst, ip("2001:db8::1").value);
  });

  test("ICMP defaults to an echo request; DNAT and forwarding options reach the packet", () => {
    assert.equal(packetFromOptions({ ...base, from: ip("203.0.113.7"), proto: "icmp" }, []).icmpType, 8);
    assert.equal(packetFromOptions({ ...base, from: ip("2001:db8::7"), proto: "icmpv6" }, []).icmpType, 128);
    const p = packetFromOptions(
      { ...base, from: ip("203.0.113.7"), proto: "tcp", port: 8080, to: ip("10.244.0.9"), origDst: ip("10.3.4.5"), origPort: 30080, forwarded: true },
      [],
    );
    assert.deepEqual([p.origDst, p.origDport, p.forwarded], [ip("10.3.4.5").value, 30080, true]);
  });

  test("combinations that describe no real packet are usage errors", () => {
    for (const o of [
      { ...base, proto: "tcp" as const },
      { ...base, from: ip("203.0.113.7") },
      { ...base, from: ip("203.0.113.7"), proto: "tcp" as const, icmpType: 8 },
      { ...base, from: ip("203.0.113.7"), proto: "icmpv6" as const },
      { ...base, from: ip("203.0.113.7"), proto: "tcp" as const, origPort: 1 },
      { ...base, from: ip("203.0.113.7"), proto: "tcp" as const, origDst: ip("::1") },
    ]) {
      assert.throws(
        () => packetFromOptions(o, []),
        (e: unknown) => e instanceof UserError && e.exitCode === 64,
        JSON.stringify(o, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v)),
      );
    }
  });
});

interface GenRule {
  protocol: string | null;
  ports: string[];
  ingress: { subnet: string; except?: string | undefined }[];
}

interface GenConfig {
  block: boolean;
  rules: GenRule[];
}

describe("property: check's JSON report always has a verdict", () => {
  const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join("."));
  const v6 = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }).map((ws) => ws.map((w) => w.toString(16)).join(":"));
  const prefix = fc.oneof(fc.tuple(v4, fc.nat(32)), fc.tuple(v6, fc.nat(128))).map(([a, b]) => `${a}/${b}`);
  // Sorted distinct values taken two by two as ranges (a trailing one alone): never overlapping, as validation requires.
  const ports = fc
    .uniqueArray(fc.nat(65535), { minLength: 1, maxLength: 6 })
    .map((xs) => [...xs].sort((a, b) => a - b))
    .map((xs) => xs.flatMap((x, i) => (i % 2 === 1 ? [] : [xs[i + 1] === undefined ? `${x}` : `${x}-${xs[i + 1]}`])));
  const rule = fc.record({
    protocol: fc.constantFrom("tcp", "udp", "icmp", "icmpv6", null),
    ports,
    ingress: fc.array(fc.record({ subnet: prefix, except: fc.option(prefix, { nil: undefined }) }), { maxLength: 3 }),
  });
  const config = fc.record({
    block: fc.boolean(),
    rules: fc.array(rule, { maxLength: 4 }),
    profile: fc.constantFrom("talos" as const, "talos-1.7" as const),
    nodeAddresses: fc.option(fc.array(fc.oneof(v4, v6), { maxLength: 2 }), { nil: undefined }),
  });
  const yamlOf = (c: GenConfig) =>
    [
      ...(c.block ? ["apiVersion: v1alpha1\nkind: NetworkDefaultActionConfig\ningress: block\n"] : []),
      ...c.rules.map(
        (r, i) =>
          `apiVersion: v1alpha1\nkind: NetworkRuleConfig\nname: r${i}\nportSelector:\n  ports: [${r.ports.join(", ")}]\n${r.protocol ? `  protocol: ${r.protocol}\n` : ""}ingress:\n${r.ingress.map((e) => `  - subnet: ${e.subnet}\n${e.except ? `    except: ${e.except}\n` : ""}`).join("")}`,
      ),
    ].join("---\n");
  const packetOptions = fc.record({
    v6: fc.boolean(),
    fromV4: v4,
    fromV6: v6,
    proto: fc.constantFrom("tcp", "udp", "icmp" as const),
    port: fc.option(fc.nat(65535), { nil: undefined }),
    checksum: fc.option(fc.nat(65535), { nil: undefined }),
    iface: fc.constantFrom("eth0", "lo", "kubespan", "siderolink0"),
    state: fc.constantFrom("new", "established", "related", "invalid" as const),
  });

  test("for random configurations and packets, verdict is accept, drop or depends, and the report serialises", () => {
    fc.assert(
      fc.property(config, packetOptions, (c, po) => {
        const rs = compileYaml(yamlOf(c), { profile: c.profile, ...(c.nodeAddresses ? { nodeAddresses: c.nodeAddresses } : {}) });
        const from = parseAddress(po.v6 ? po.fromV6 : po.fromV4) as Address;
        const icmp = po.proto === "icmp";
        const proto = icmp ? (from.family === 4 ? "icmp" : "icmpv6") : po.proto;
        const opts: PacketOptions = {
          iface: po.iface,
          state: po.state,
          from,
          proto,
          ...(icmp ? (po.checksum !== undefined ? { icmpChecksum: po.checksum } : {}) : po.port !== undefined ? { port: po.port } : {}),
        };
        const packet = packetFromOptions(opts, c.nodeAddresses?.map((a) => parseAddress(a) as Address) ?? []);
        const report = JSON.parse(JSON.stringify(packetReportJson(packet, evaluate(rs, packet)))) as {
          verdict: string;
          decidedBy?: { kind: string };
          cases?: { verdict: string; decidedBy: { kind: string } }[];
        };
        assert.ok(["accept", "drop", "depends"].includes(report.verdict), report.verdict);
        if (report.verdict === "depends") {
          assert.ok(report.cases && report.cases.length >= 2);
          for (const k of report.cases) assert.ok(["accept", "drop"].includes(k.verdict) && k.decidedBy.kind);
        } else {
          assert.ok(report.decidedBy && ["rule", "policy", "unfiltered"].includes(report.decidedBy.kind));
        }
      }),
      { numRuns: 300 },
    );
  });
});
