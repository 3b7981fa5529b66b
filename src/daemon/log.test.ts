import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createLogger, formatLogLine } from "./log.js";

const now = new Date("2025-03-04T05:06:07.000Z");

describe("daemon log lines", () => {
  it("text: timestamp, level, event, message and fields", () => {
    const line = formatLogLine(
      "info",
      "applied",
      "table inet talos applied",
      { rules: 12, from: "/etc/ingressfw", skipped: undefined },
      {
        format: "text",
        journald: false,
        now,
      },
    );
    assert.equal(line, "2025-03-04T05:06:07.000Z info applied: table inet talos applied rules=12 from=/etc/ingressfw");
  });

  it("text under journald: a syslog priority prefix instead of a timestamp", () => {
    const o = { format: "text", journald: true, now } as const;
    assert.equal(formatLogLine("error", "config-invalid", "2 errors", {}, o), "<3>error config-invalid: 2 errors");
    assert.equal(formatLogLine("warn", "drift-repaired", "x", {}, o), "<4>warn drift-repaired: x");
    assert.equal(formatLogLine("info", "started", "x", {}, o), "<6>info started: x");
  });

  it("text stays one line; field values with spaces or quotes are quoted", () => {
    const line = formatLogLine("error", "e", "first\nsecond", { file: "a b.yaml", list: ["x", "y"] }, { format: "text", journald: true, now });
    assert.equal(line, '<3>error e: first; second file="a b.yaml" list=x,y');
  });

  it("json: one object per line with time, level, event, message and fields", () => {
    const line = formatLogLine("warn", "drift-repaired", "repaired\nnow", { count: 2 }, { format: "json", journald: false, now });
    assert.ok(!line.includes("\n"));
    assert.deepEqual(JSON.parse(line), { time: now.toISOString(), level: "warn", event: "drift-repaired", message: "repaired\nnow", count: 2 });
  });

  it("the logger writes whole lines", () => {
    const lines: string[] = [];
    const log = createLogger("json", (l) => lines.push(l));
    log.info("started", "hello", { pid: 1 });
    log.error("failed", "bad");
    assert.equal(lines.length, 2);
    assert.ok(lines.every((l) => l.endsWith("\n")));
    assert.deepEqual(
      lines.map((l) => (JSON.parse(l) as { level: string; event: string }).event),
      ["started", "failed"],
    );
  });
});
