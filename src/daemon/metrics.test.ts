// The /metrics page: strict exposition format (test/support/prometheus.ts), per-document counters and
// drops from a status report, and the daemon's event counts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { StatusReport } from "../kernel/status.js";
import { ExpositionError, parseExposition, sampleValue } from "../../test/support/prometheus.js";
import { escapeLabelValue, MetricsRecorder, renderMetrics } from "./metrics.js";

const pos = { file: "c.yaml", line: 3, col: 1 };
const rule = (chain: string, index: number, origin: string | null, text: string, packets: number | null, bytes: number | null) => ({
  chain,
  index,
  text,
  origin,
  pos: origin?.startsWith("NetworkRuleConfig/") ? pos : null,
  packets,
  bytes,
});

const REPORT: StatusReport = {
  target: 'network namespace "x"',
  table: { family: "inet", name: "talos", present: true },
  state: {
    file: "/s",
    appliedAt: "2026-01-02T03:04:05.000Z",
    profile: "talos",
    layout: "per-rule",
    inputs: ["c.yaml"],
    nodeAddresses: null,
    nodeAddressSource: "none",
  },
  stateProblem: null,
  rules: [
    rule("ingress", 1, "trusted-interfaces", 'iifname { "lo" } counter accept', 7, 700),
    rule("ingress", 2, 'NetworkRuleConfig/odd "name"\\x', "ip saddr != { 10.0.0.0/8 } tcp dport 22 counter drop", 3, 180),
    rule("ingress", 3, 'NetworkRuleConfig/odd "name"\\x', "ip6 saddr != { fd00::/8 } tcp dport 22 counter drop", 2, 160),
    rule("ingress", 4, 'NetworkRuleConfig/odd "name"\\x', 'tcp dport 22 limit name "drop-log" log prefix "x" group 1', null, null),
    rule("ingress", 5, null, "counter accept", 1, 1),
  ],
  documents: [],
  drift: { drifted: false, diff: "" },
  otherChains: [],
  confirmed: null,
  pendingTry: null,
};

describe("metrics", () => {
  it("render a strictly valid exposition with per-document counters and drops by rule", () => {
    const rec = new MetricsRecorder();
    rec.recordEvent("apply", "ok", 1500, Date.UTC(2026, 0, 2, 4));
    rec.recordEvent("apply", "failed", 500);
    rec.recordEvent("rollback", "ok", 250);
    const e = parseExposition(renderMetrics(REPORT, rec.snapshot(1)));
    const doc = 'NetworkRuleConfig/odd "name"\\x';
    assert.equal(sampleValue(e, "ingressfw_document_packets_total", { document: doc }), 5);
    assert.equal(sampleValue(e, "ingressfw_document_bytes_total", { document: doc }), 340);
    assert.equal(sampleValue(e, "ingressfw_document_packets_total", { document: "trusted-interfaces" }), 7);
    assert.equal(sampleValue(e, "ingressfw_rule_drop_packets_total", { document: doc, chain: "ingress", rule: "2" }), 3);
    assert.equal(sampleValue(e, "ingressfw_rule_drop_packets_total", { document: doc, chain: "ingress", rule: "3" }), 2);
    assert.equal(e.samples.filter((s) => s.name === "ingressfw_rule_drop_packets_total").length, 2, "log rules and accepts are not drops");
    assert.equal(sampleValue(e, "ingressfw_table_present"), 1);
    assert.equal(sampleValue(e, "ingressfw_drift"), 0);
    assert.equal(sampleValue(e, "ingressfw_events_total", { event: "apply", outcome: "ok" }), 1);
    assert.equal(sampleValue(e, "ingressfw_events_total", { event: "apply", outcome: "failed" }), 1);
    assert.equal(sampleValue(e, "ingressfw_event_duration_seconds_sum", { event: "apply" }), 2);
    assert.equal(sampleValue(e, "ingressfw_event_duration_seconds_count", { event: "apply" }), 2);
    assert.equal(sampleValue(e, "ingressfw_event_duration_seconds_count", { event: "rollback" }), 1);
    assert.equal(sampleValue(e, "ingressfw_drift_detected_total"), 1);
    assert.equal(sampleValue(e, "ingressfw_last_apply_timestamp_seconds"), Date.UTC(2026, 0, 2, 4) / 1000, "the daemon's own apply wins");
    assert.equal(e.types.get("ingressfw_event_duration_seconds"), "summary");
  });

  it("without a daemon apply the state's time is the last apply; without a report only daemon metrics", () => {
    const e = parseExposition(renderMetrics(REPORT, new MetricsRecorder().snapshot(0)));
    assert.equal(sampleValue(e, "ingressfw_last_apply_timestamp_seconds"), Date.parse("2026-01-02T03:04:05.000Z") / 1000);
    const bare = parseExposition(renderMetrics(null, new MetricsRecorder().snapshot(0)));
    assert.equal(
      bare.samples.some((s) => s.name.startsWith("ingressfw_document")),
      false,
    );
    assert.equal(sampleValue(bare, "ingressfw_drift_detected_total"), 0);
  });

  it("escapes label values; the test parser rejects what the format forbids", () => {
    assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
    for (const bad of [
      "x 1\n", // no TYPE
      "# TYPE x counter\nx -1\n",
      '# TYPE x counter\nx{a="1"} 1\nx{a="1"} 2\n',
      '# TYPE x gauge\nx{a="\\q"} 1\n',
      "# TYPE x gauge\nx 1",
      "# TYPE x gauge\nx one\n",
      "# TYPE x gauge\nx 1\n# TYPE x gauge\n",
    ]) {
      assert.throws(() => parseExposition(bad), ExpositionError, JSON.stringify(bad));
    }
  });
});
