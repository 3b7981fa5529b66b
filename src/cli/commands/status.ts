import type { Command } from "commander";
import { join } from "node:path";
import { DEFAULT_TABLE } from "../../compile/ruleset.js";
import { priorityText } from "../../compile/elements.js";
import { CONFIRMED_FILE, readConfirmed, readState, STATE_FILE, StateError, type AppliedState } from "../../kernel/state.js";
import { buildStatus, readRulesetForStatus, type StatusReport } from "../../kernel/status.js";
import { confirmedView, PENDING_TRY_FILE, pendingTryView, readPendingTry, type ConfirmedView, type PendingTryView } from "../../kernel/try-state.js";
import { formatGoDuration } from "../../daemon/go-duration.js";
import { guardianPid } from "../../daemon/try.js";
import { settleTry } from "../safe-apply.js";
import { choice, parseTableName } from "../options.js";
import { addTargetOption, kernelCall, stateDirOf, targetOf, type TargetOptions } from "./apply.js";
import { addSocketOption, daemonFor, daemonStatusLines, type SocketOptions } from "../daemon-route.js";

interface StatusOptions extends TargetOptions {
  table?: string;
  output: "text" | "json";
}

const where = (pos: { file: string; line: number; col: number } | null) => (pos ? ` (${pos.file}:${pos.line}:${pos.col})` : "");

/** Whole seconds, rounded up while time is left (`in 42s`, `overdue by 3s`). */
function timeLeft(ms: number): string {
  const secs = BigInt(ms > 0 ? Math.ceil(ms / 1000) : Math.floor(-ms / 1000));
  return ms > 0 ? `in ${formatGoDuration(secs * 1_000_000_000n)}` : `overdue by ${formatGoDuration(secs * 1_000_000_000n)}`;
}

function tryLines(confirmed: ConfirmedView | null, p: PendingTryView | null): string[] {
  const out = [
    confirmed ? `confirmed: ${confirmed.confirmedAt} from ${confirmed.inputs.join(", ") || "(no input)"} (table inet ${confirmed.table})` : "confirmed: none",
  ];
  if (!p) return out;
  const target = p.rollbackTarget
    ? `the configuration confirmed at ${p.rollbackTarget.confirmedAt} (${p.rollbackTarget.inputs.join(", ") || "no input"})`
    : "no table (nothing was confirmed)";
  out.push(
    `try pending: ${p.candidate.inputs.join(", ") || "(no input)"} (table inet ${p.candidate.table}), started ${p.startedAt}, timeout ${p.timeout}`,
    `  rolls back at ${p.deadline} (${timeLeft(p.remainingMs)}) to ${target}`,
    p.guardianPid !== null
      ? `  watched by guardian pid ${p.guardianPid}`
      : "  not watched by a guardian: the daemon or the next ingressfw command on this target rolls it back",
  );
  const r = p.rollback;
  if (r.attempts > 0) out.push(`  rollback failed ${r.attempts} time(s), last at ${r.lastAttemptAt}: ${r.lastError}; next attempt at ${r.nextAttemptAt}`);
  return out;
}

function formatText(r: StatusReport): string {
  const out: string[] = [];
  out.push(`table ${r.table.family} ${r.table.name} in ${r.target}: ${r.table.present ? "present" : "not present"}`);
  if (r.state) {
    const s = r.state;
    out.push(`last applied ${s.appliedAt} with profile ${s.profile}, layout ${s.layout}, from ${s.inputs.join(", ") || "(no input)"}`);
    if (s.nodeAddresses) out.push(`node addresses (${s.nodeAddressSource}): ${s.nodeAddresses.join(", ") || "none"}`);
    out.push(`state: ${s.file}`);
  } else {
    out.push(r.stateProblem ? `state: ${r.stateProblem}` : "state: none (not applied by ingressfw, or applied with another --state-dir)");
  }
  out.push(...tryLines(r.confirmed, r.pendingTry));
  if (r.drift) {
    if (!r.drift.drifted) out.push("drift: none (the live table equals the last applied ruleset)");
    else
      out.push(
        "drift: the live table differs from the last applied ruleset (- applied, + live):",
        ...r.drift.diff
          .trimEnd()
          .split("\n")
          .map((l) => `  ${l}`),
      );
  }
  if (r.rules.length) {
    out.push("", "counters (per kernel rule):");
    const rows = r.rules.map((x) => [
      `${x.chain}#${x.index}`,
      String(x.packets ?? "-"),
      String(x.bytes ?? "-"),
      x.origin ?? "(not applied by ingressfw)",
      x.text,
    ]);
    const widths = [0, 1, 2, 3].map((c) => Math.max(...[["RULE", "PACKETS", "BYTES", "FROM"][c]!.length, ...rows.map((row) => row[c]!.length)]));
    const fmt = (row: readonly string[]) => `  ${row.map((cell, c) => (c < 4 ? cell.padEnd(widths[c]!) : cell)).join("  ")}`.trimEnd();
    out.push(fmt(["RULE", "PACKETS", "BYTES", "FROM", "NFT"]), ...rows.map(fmt));
  }
  const docs = r.documents.filter((d) => d.origin.startsWith("NetworkRuleConfig/"));
  if (docs.length) {
    out.push("", "per document:");
    for (const d of docs) out.push(`  ${d.origin}${where(d.pos)}: ${d.packets} packets, ${d.bytes} bytes (${d.kernelRules} kernel rule(s))`);
  }
  out.push("", "other base chains on the input/prerouting hooks (an accept in our table is not final there):");
  if (!r.otherChains.length) out.push("  none");
  for (const c of r.otherChains) {
    const head = `  table ${c.family} ${c.table} chain ${c.chain} (type ${c.type} hook ${c.hook} priority ${priorityText(c.prio)}, policy ${c.policy})`;
    out.push(c.dropReasons.length ? `${head}: can drop what we accept — ${c.dropReasons.join("; ")}` : `${head}: no drop found`);
  }
  return out.join("\n") + "\n";
}

export function registerStatus(program: Command): void {
  const cmd = program.command("status").description("show the live table, the last apply, per-document counters, drift and other chains that can still drop");
  addSocketOption(addTargetOption(cmd))
    .option("--table <name>", `table name (family inet; default: the table of the last apply, else ${DEFAULT_TABLE})`, parseTableName)
    .option("--state-dir <dir>", "where the last applied state is kept (default /var/lib/ingressfw/<netns or host>)")
    .option("--output <format>", "text or json", choice(["text", "json"] as const), "text")
    .addHelpText(
      "after",
      `
Counters are read from the kernel; each kernel rule is attributed to the document that produced it
by matching it with the last applied ruleset. Drift means the live table no longer equals what
ingressfw last applied (someone changed or removed it). A pending try shows its rollback target,
the time left and failed rollback attempts; an overdue try is rolled back first. When a daemon
serves the target, what it enforces, a refused configuration edit and drift repairs are shown too.

Exit codes: 0 ok (also with drift), 1 failure, 64 usage (also an unknown --netns), 69 nft missing,
77 no permission.

Examples:
  ingressfw status
  ingressfw status --netns lab-node1 --output json`,
    )
    .action(async (opts: StatusOptions & SocketOptions) => {
      const target = targetOf(opts);
      // A daemon serving the target owns its try and reports what it enforces and any refused edit.
      const daemon = await daemonFor(target, opts);
      const dir = daemon?.status.daemon.stateDir ?? stateDirOf(opts, target);
      if (!daemon) await settleTry(target, dir, { tolerant: true });
      let state: AppliedState | null = null;
      let stateProblem: string | null = null;
      let confirmed: ConfirmedView | null = null;
      let pendingTry: PendingTryView | null = null;
      try {
        state = readState(dir);
      } catch (e) {
        if (!(e instanceof StateError)) throw e;
        stateProblem = e.message;
      }
      try {
        const c = readConfirmed(dir);
        confirmed = c && confirmedView(c, join(dir, CONFIRMED_FILE));
        const p = readPendingTry(dir);
        pendingTry = p && pendingTryView(p, join(dir, PENDING_TRY_FILE), new Date(), daemon?.status.daemon.ownsRollback ? null : guardianPid(dir));
      } catch (e) {
        if (!(e instanceof StateError)) throw e;
        process.stderr.write(`ingressfw: warning: ${e.message}\n`);
      }
      const table = opts.table ?? state?.ruleset.table ?? DEFAULT_TABLE;
      const { listing, ruleTexts } = await kernelCall(() => readRulesetForStatus(target, "inet", table));
      const report = buildStatus({
        target,
        family: "inet",
        table,
        listing,
        ruleTexts,
        state,
        stateFile: join(dir, STATE_FILE),
        stateProblem,
        confirmed,
        pendingTry,
      });
      const daemonLines = daemon ? `\n${daemonStatusLines(daemon.status).join("\n")}\n` : "";
      process.stdout.write(
        opts.output === "json" ? JSON.stringify({ ...report, daemon: daemon?.status ?? null }, null, 2) + "\n" : formatText(report) + daemonLines,
      );
    });
}
