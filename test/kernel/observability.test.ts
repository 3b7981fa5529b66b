// Drop logging, logs, trace and metrics against the real kernel, with real traffic between two lab
// namespaces: one blocked probe gives exactly one event naming its rule; a flood gives no more events than
// the shared limit allows; logging off logs nothing and leaves the Talos-only ruleset; trace names the
// deciding rule and removes its chain (also on Ctrl-C); the metrics page parses and its counters move.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { request } from "node:http";

import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { renderMetrics, MetricsRecorder } from "../../src/daemon/metrics.js";
import { readState } from "../../src/kernel/state.js";
import { buildStatus, readRulesetForStatus } from "../../src/kernel/status.js";
import type { DropEvent } from "../../src/observe/drop-event.js";
import {
  CLIENT_V4 as C,
  SERVER_V4 as S,
  REPO_ROOT,
  createLab,
  defaultActionYaml,
  nftIn,
  ruleYaml,
  runCli,
  yamlStream,
  type Lab,
  workDir,
  writeConfig,
} from "../support/lab.js";
import { kernelSkipReason } from "../support/netns.js";
import { parseExposition, sampleValue } from "../support/prometheus.js";

const skip = kernelSkipReason();
const work = workDir("observe", skip);

const logYaml = (drops: boolean, rate: string, burst: number) => `apiVersion: ingressfw/v1alpha1
kind: IngressLogConfig
drops: ${drops}
rate: ${rate}
burst: ${burst}
group: 100
`;

const configFile = (name: string, docs: readonly string[]) => writeConfig(work, name, docs);

/** A long-running CLI command (logs --follow, trace) with its output collected; always ended by stop(). */
class Running {
  readonly child: ChildProcess;
  stdout = "";
  stderr = "";
  readonly exited: Promise<number>;

  constructor(args: readonly string[]) {
    this.child = spawn(process.execPath, ["--import", "tsx", "src/cli/bin.ts", ...args], { cwd: REPO_ROOT, env: { ...process.env, NO_COLOR: "1" } });
    this.child.stdout!.on("data", (b: Buffer) => (this.stdout += b.toString()));
    this.child.stderr!.on("data", (b: Buffer) => (this.stderr += b.toString()));
    this.exited = new Promise((resolve) => this.child.on("close", (code, signal) => resolve(code ?? (signal ? 128 : 1))));
  }

  /** Waits (bounded) until stderr matches. */
  async waitForStderr(re: RegExp, ms = 15_000): Promise<void> {
    const end = Date.now() + ms;
    while (!re.test(this.stderr)) {
      if (Date.now() > end || this.child.exitCode !== null) throw new Error(`no ${re} on stderr within ${ms} ms: ${this.stderr}`);
      await sleep(50);
    }
  }

  /** SIGINT, then the exit code (SIGKILL after 10 s). */
  async stop(): Promise<number> {
    if (this.child.exitCode === null) this.child.kill("SIGINT");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 10_000);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** NFLOG delivers within its flush timeout (1 s); wait past it. */
const DELIVERY_MS = 2500;

const events = (jsonLines: string): DropEvent[] =>
  jsonLines
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as DropEvent);

for (const layout of ["per-rule", "port-map"] as const)
  describe(`drop logging, logs and trace in a namespace (layout ${layout})`, { skip }, () => {
    let lab: Lab;
    let state: string;
    const running: Running[] = [];
    const follow = (...extra: string[]) => {
      const r = new Running(["logs", "--netns", lab.server, "--state-dir", state, "--follow", "--output", "json", ...extra]);
      running.push(r);
      return r;
    };
    const apply = async (file: string) => {
      const r = await runCli(["apply", "--netns", lab.server, "--state-dir", state, "--layout", layout, file]);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout;
    };
    const traceChains = () => nftIn(lab.server, ["list", "table", "inet", "talos"]).match(/chain trace-\d+/g) ?? [];

    before(async () => {
      lab = createLab(layout === "per-rule" ? "k7r" : "k7m");
      state = join(work, "state");
      for (const p of [7022, 7080]) await lab.serverAgent.listenTcp(p);
    });
    after(async () => {
      for (const r of running) await r.stop();
      lab?.close();
    });

    // accept mode: only C1 may reach 7022, so C0's probe is dropped by the rule "only-c1" (in prerouting).
    const acceptDocs = [ruleYaml("only-c1", "tcp", [7022], [{ subnet: `${C[1]}/32` }])];

    it("with logging on, one blocked probe gives exactly one event, naming the rule and its document", async () => {
      await apply(configFile("accept-log", [...acceptDocs, logYaml(true, "10/minute", 5)]));
      const logs = follow();
      await logs.waitForStderr(/reading NFLOG group 100/);
      assert.equal(await lab.clientAgent.tcp(S, 7022, C[0]), "timeout");
      assert.equal(await lab.clientAgent.tcp(S, 7022, C[1]), "open", "an admitted connection is not logged");
      await sleep(DELIVERY_MS);
      assert.equal(await logs.stop(), 0, logs.stderr);
      const got = events(logs.stdout);
      assert.equal(got.length, 1, logs.stdout);
      assert.equal(got[0]!.document, "NetworkRuleConfig/only-c1");
      assert.equal(got[0]!.rule, "NetworkRuleConfig/only-c1");
      assert.equal(got[0]!.pos?.file, join(work, "accept-log.yaml"));
      assert.deepEqual([got[0]!.src, got[0]!.dst, got[0]!.protocol, got[0]!.dport, got[0]!.iface], [C[0], S, "tcp", 7022, "eth0"]);
      // The event was recorded: `logs` without --follow shows it.
      const recent = await runCli(["logs", "--netns", lab.server, "--state-dir", state]);
      assert.equal(recent.code, 0, recent.stderr);
      assert.match(
        recent.stdout,
        new RegExp(`drop tcp ${C[0].replace(/\./g, "\\.")}:\\d+ -> ${S.replace(/\./g, "\\.")}:7022 on eth0 \\(prerouting\\) by NetworkRuleConfig/only-c1 \\(`),
      );
    });

    it("trace on a blocked probe prints the deciding rule and leaves no tracing chain", async () => {
      const trace = new Running(["trace", "--netns", lab.server, "--state-dir", state, "--from", C[0], "--port", "7022", "--count", "1", "--seconds", "30"]);
      running.push(trace);
      await trace.waitForStderr(/tracing network namespace/);
      assert.equal(traceChains().length, 1, "the tracing chain is in place while tracing");
      const drift = await runCli(["status", "--netns", lab.server, "--state-dir", state]);
      assert.match(drift.stdout, /drift: none/, "the tracing chain is not drift");
      assert.equal(await lab.clientAgent.tcp(S, 7022, C[0]), "timeout");
      const code = await Promise.race([trace.exited, sleep(20_000).then(() => -1)]);
      assert.equal(code, 0, trace.stderr);
      assert.match(trace.stdout, /^packet 1: tcp 10\.77\.0\.2:\d+ -> 10\.77\.0\.1:7022 iif eth0$/m);
      // per-rule: a rule of prerouting; port-map: a rule of the document's own chain.
      assert.match(trace.stdout, /verdict: drop by rule \d+ of [\w-]+, NetworkRuleConfig\/only-c1 \(.*accept-log\.yaml:1:1\)/);
      assert.match(trace.stdout, /matched \(no verdict\): .*log prefix "ingressfw drop NetworkRuleConfig\/only-c1: "/);
      assert.deepEqual(traceChains(), []);
    });

    it("trace removes its chain on Ctrl-C", async () => {
      const trace = new Running(["trace", "--netns", lab.server, "--state-dir", state, "--port", "7999", "--seconds", "60"]);
      running.push(trace);
      await trace.waitForStderr(/tracing network namespace/);
      assert.equal(traceChains().length, 1);
      assert.equal(await trace.stop(), 0, trace.stderr);
      assert.deepEqual(traceChains(), []);
    });

    it("a flood of blocked probes gives no more events than rate and burst allow", async () => {
      // block mode: 7080 is admitted from C1 only; the rest is dropped by the default action (new-tcp-drop).
      await apply(
        configFile("block-log", [defaultActionYaml("block"), ruleYaml("web", "tcp", [7080], [{ subnet: `${C[1]}/32` }]), logYaml(true, "1/minute", 3)]),
      );
      const logs = follow();
      await logs.waitForStderr(/reading NFLOG group 100/);
      const started = Date.now();
      const FLOOD = 40;
      // TCP and UDP alternate: two different log rules (new-tcp-drop, new-udp-drop) share the one limit.
      const results = await Promise.all(
        Array.from({ length: FLOOD }, (_, i) => (i % 2 === 0 ? lab.clientAgent.tcp(S, 7080, C[0], 400) : lab.clientAgent.udp(S, 7090, C[2], 400))),
      );
      assert.ok(
        results.every((r) => r === "timeout"),
        results.join(","),
      );
      await sleep(DELIVERY_MS);
      assert.equal(await logs.stop(), 0, logs.stderr);
      const minutes = (Date.now() - started) / 60_000;
      const got = events(logs.stdout);
      assert.ok(got.length >= 1, "something was logged");
      assert.ok(got.length <= 3 + Math.ceil(minutes * 1), `${got.length} events for a burst of 3 and 1/minute`);
      for (const e of got) assert.equal(e.document, "NetworkDefaultActionConfig");
      // The drops themselves all happened (their counter), whatever was logged.
      const status = JSON.parse((await runCli(["status", "--netns", lab.server, "--state-dir", state, "--output", "json"])).stdout) as {
        rules: { origin: string | null; text: string; packets: number | null }[];
      };
      const dropped = (id: string) => status.rules.find((r) => r.origin === id && r.text.endsWith("drop"))!.packets!;
      assert.ok(
        dropped("new-tcp-drop") >= FLOOD / 2 && dropped("new-udp-drop") >= FLOOD / 2,
        `${dropped("new-tcp-drop")} TCP, ${dropped("new-udp-drop")} UDP drops`,
      );
    });

    it("with logging off nothing is logged and the ruleset is the Talos-only one", async () => {
      const talosOnly = configFile("block-plain", [defaultActionYaml("block"), ruleYaml("web", "tcp", [7080], [{ subnet: `${C[1]}/32` }])]);
      await apply(talosOnly);
      const plainListing = nftIn(lab.server, ["list", "table", "inet", "talos"]).replace(/counter packets \d+ bytes \d+/g, "counter");
      const off = configFile("block-off", [
        defaultActionYaml("block"),
        ruleYaml("web", "tcp", [7080], [{ subnet: `${C[1]}/32` }]),
        logYaml(false, "10/second", 5),
      ]);
      assert.match(await apply(off), /^unchanged: /m, "the same transaction as the Talos-only configuration");
      assert.equal(nftIn(lab.server, ["list", "table", "inet", "talos"]).replace(/counter packets \d+ bytes \d+/g, "counter"), plainListing);
      assert.doesNotMatch(plainListing, /log|limit drop-log/);
      const r = await runCli(["logs", "--netns", lab.server, "--state-dir", join(work, "fresh"), "--follow"]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /drop logging is not on/);
      // Reading the group anyway: a blocked probe sends nothing to it.
      const logs = follow("--group", "100");
      await logs.waitForStderr(/reading NFLOG group 100/);
      assert.equal(await lab.clientAgent.tcp(S, 7080, C[0]), "timeout");
      await sleep(DELIVERY_MS);
      assert.equal(await logs.stop(), 0, logs.stderr);
      assert.equal(logs.stdout, "");
    });

    it("the metrics page of a real status report parses strictly, and its counters move with traffic", async () => {
      await apply(configFile("block-metrics", [defaultActionYaml("block"), ruleYaml("web", "tcp", [7080], [{ subnet: `${C[1]}/32` }])]));
      const target = { netns: lab.server };
      const scrape = async () => {
        const { listing, ruleTexts } = await readRulesetForStatus(target, "inet", "talos");
        const report = buildStatus({
          target,
          family: "inet",
          table: "talos",
          listing,
          ruleTexts,
          state: readState(state),
          stateFile: join(state, "state.json"),
          stateProblem: null,
        });
        return parseExposition(renderMetrics(report, new MetricsRecorder().snapshot(0)));
      };
      const web = { document: "NetworkRuleConfig/web" };
      const before = await scrape();
      const dropsBefore = before.samples
        .filter((s) => s.name === "ingressfw_rule_drop_packets_total" && s.labels.document === "new-tcp-drop")
        .reduce((n, s) => n + s.value, 0);
      assert.equal(await lab.clientAgent.tcp(S, 7080, C[1]), "open");
      assert.equal(await lab.clientAgent.tcp(S, 7080, C[0]), "timeout");
      const afterTraffic = await scrape();
      assert.ok(sampleValue(afterTraffic, "ingressfw_document_packets_total", web)! > sampleValue(before, "ingressfw_document_packets_total", web)!);
      assert.ok(sampleValue(afterTraffic, "ingressfw_document_bytes_total", web)! > sampleValue(before, "ingressfw_document_bytes_total", web)!);
      const dropsAfter = afterTraffic.samples
        .filter((s) => s.name === "ingressfw_rule_drop_packets_total" && s.labels.document === "new-tcp-drop")
        .reduce((n, s) => n + s.value, 0);
      assert.ok(dropsAfter >= dropsBefore + 1, `${dropsBefore} -> ${dropsAfter}`);
      assert.equal(sampleValue(afterTraffic, "ingressfw_drift"), 0);
      assert.equal(sampleValue(afterTraffic, "ingressfw_table_present"), 1);
    });
  });

/** GET a path of the daemon's unix socket as text (bounded). */
function getText(socketPath: string, path: string): Promise<{ status: number; type: string; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: "GET", timeout: 10_000 }, (res) => {
      let text = "";
      res.on("data", (b: Buffer) => (text += b.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, type: String(res.headers["content-type"]), text }));
    });
    req.on("timeout", () => req.destroy(new Error("no answer within 10 s")));
    req.on("error", reject);
    req.end();
  });
}

describe("the daemon's GET /metrics", { skip }, () => {
  let lab: Lab;
  let daemon: Running;
  const dir = () => join(work, "daemon");
  const socket = () => join(dir(), "api.sock");

  before(async () => {
    lab = createLab("k7d");
    await lab.serverAgent.listenTcp(7080);
    mkdirSync(join(dir(), "config"), { recursive: true });
    writeFileSync(join(dir(), "config", "fw.yaml"), yamlStream([defaultActionYaml("block"), ruleYaml("web", "tcp", [7080], [{ subnet: `${C[1]}/32` }])]));
    daemon = new Running(["daemon", "--netns", lab.server, "--config", join(dir(), "config"), "--state-dir", join(dir(), "state"), "--socket", socket()]);
    const end = Date.now() + 30_000;
    while (
      !(await getText(socket(), "/v1/status")
        .then((r) => r.status === 200)
        .catch(() => false))
    ) {
      if (Date.now() > end || daemon.child.exitCode !== null) throw new Error(`the daemon did not serve its socket: ${daemon.stderr}`);
      await sleep(200);
    }
  });
  after(async () => {
    await daemon?.stop();
    lab?.close();
  });

  it("serves a page that parses strictly, whose counters move with real traffic and API events", async () => {
    const scrape = async () => {
      const r = await getText(socket(), "/metrics");
      assert.equal(r.status, 200);
      assert.match(r.type, /^text\/plain; version=0\.0\.4/);
      return parseExposition(r.text);
    };
    const web = { document: "NetworkRuleConfig/web" };
    const first = await scrape();
    assert.equal(sampleValue(first, "ingressfw_table_present"), 1);
    assert.ok(sampleValue(first, "ingressfw_last_apply_timestamp_seconds")! > 0);
    assert.equal(await lab.clientAgent.tcp(S, 7080, C[1]), "open");
    assert.equal(await lab.clientAgent.tcp(S, 7080, C[0]), "timeout");
    const second = await scrape();
    assert.ok(sampleValue(second, "ingressfw_document_packets_total", web)! > (sampleValue(first, "ingressfw_document_packets_total", web) ?? 0));
    const drops = (e: typeof first) =>
      e.samples.filter((s) => s.name === "ingressfw_rule_drop_packets_total" && s.labels.document === "new-tcp-drop").reduce((n, s) => n + s.value, 0);
    assert.ok(drops(second) >= drops(first) + 1);
    // The daemon's own applies (its configuration directory at start) count as apply events too.
    const appliesBefore = sampleValue(second, "ingressfw_events_total", { event: "apply", outcome: "ok" }) ?? 0;
    const durationsBefore = sampleValue(second, "ingressfw_event_duration_seconds_count", { event: "apply" }) ?? 0;
    // An apply through the API is counted, with its duration.
    const text = yamlStream([defaultActionYaml("block"), ruleYaml("web", "tcp", [7080, 7081], [{ subnet: `${C[1]}/32` }])]);
    const applied = await new Promise<number>((resolve, reject) => {
      const body = JSON.stringify({ config: text });
      const req = request(
        {
          socketPath: socket(),
          path: "/v1/apply",
          method: "POST",
          headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
          timeout: 60_000,
        },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        },
      );
      req.on("error", reject);
      req.end(body);
    });
    assert.equal(applied, 200);
    const third = await scrape();
    assert.equal(sampleValue(third, "ingressfw_events_total", { event: "apply", outcome: "ok" }), appliesBefore + 1);
    assert.equal(sampleValue(third, "ingressfw_event_duration_seconds_count", { event: "apply" }), durationsBefore + 1);
    assert.ok(sampleValue(third, "ingressfw_event_duration_seconds_sum", { event: "apply" })! > 0);
    assert.equal(sampleValue(third, "ingressfw_drift_detected_total"), 0);
  });
});
