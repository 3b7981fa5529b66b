// Drop logging (IngressLogConfig): which drops are logged, their NFLOG prefixes, and the kernel log rules.
// A log rule repeats the matches of the drop it precedes (or has none, before a drop policy) and ends with
// `limit name "drop-log" log prefix "…" group N` — no counter, no verdict — so the verdicts, and the
// counters of the drop rules, are exactly those of the Talos-only ruleset.
import { createHash } from "node:crypto";
import type { LogConfig } from "../config/model.js";
import type { DropLog, IrChain, IrRule, IrTable, LogLimit, Origin } from "./ir.js";
import type { Expr, KernelRule } from "./ruleset.js";

export const LOG_LIMIT_NAME = "drop-log";
export const DROP_PREFIX_HEAD = "ingressfw drop ";
const PREFIX_TAIL = ": ";
/** nft rejects log prefixes longer than 127 bytes (NF_LOG_PREFIXLEN - 1). */
export const MAX_PREFIX_BYTES = 127;
const MAX_LABEL = MAX_PREFIX_BYTES - DROP_PREFIX_HEAD.length - PREFIX_TAIL.length;
/** What the prefix calls a drop decided by the default action (a chain policy, or prerouting's new-tcp/udp drops). */
export const POLICY_LABEL = "policy";

/** Characters kept in a label; anything else (quotes, spaces, control characters, non-ASCII) becomes `_`. */
const UNSAFE = /[^A-Za-z0-9._/:@+=-]/g;

/**
 * The label a prefix names a document by: `NetworkRuleConfig/<name>`, sanitised; a label too long for nft
 * keeps its start and ends with `~` and 8 hex digits of the full name's SHA-256, so labels stay distinct.
 */
export function dropLabel(origin: Origin): string {
  if (origin.kind === "builtin") return POLICY_LABEL;
  const full = `NetworkRuleConfig/${origin.name}`;
  const safe = full.replace(UNSAFE, "_");
  if (safe.length <= MAX_LABEL && safe === full) return safe;
  const hash = createHash("sha256").update(full).digest("hex").slice(0, 8);
  // A sanitised name gets the hash too: `a b` and `a_b` must not share a label.
  return `${safe.slice(0, MAX_LABEL - 9)}~${hash}`;
}

export function dropPrefix(label: string): string {
  return `${DROP_PREFIX_HEAD}${label}${PREFIX_TAIL}`;
}

/** The label in a prefix ingressfw wrote, or null for any other prefix. */
export function parseDropPrefix(prefix: string): string | null {
  if (!prefix.startsWith(DROP_PREFIX_HEAD) || !prefix.endsWith(PREFIX_TAIL)) return null;
  const label = prefix.slice(DROP_PREFIX_HEAD.length, -PREFIX_TAIL.length);
  return label === "" ? null : label;
}

/** Drops the documents decide: user rules, and the default action's new-tcp/udp drops (block mode). */
function decidedByDocuments(rule: IrRule): boolean {
  if (rule.verdict !== "drop") return false;
  return rule.origin.kind === "rule" || rule.origin.id === "new-tcp-drop" || rule.origin.id === "new-udp-drop";
}

/**
 * The IR with drop logging added, or unchanged when logging is absent or off. conntrack-invalid and the
 * ICMP timestamp/address-mask drops are not logged: no document decides them, and stray packets of closed
 * connections would use up the shared rate.
 */
export function addDropLogging(ir: IrTable, logging: LogConfig | null): IrTable {
  if (!logging?.drops) return ir;
  const log = (origin: Origin): DropLog => ({ prefix: dropPrefix(dropLabel(origin)), group: logging.group });
  let logs = false;
  const chains = ir.chains.map((c): IrChain => {
    const rules = c.rules.map((r) => (decidedByDocuments(r) ? { ...r, log: log(r.origin) } : r));
    const policyLog = c.policy === "drop" ? log({ kind: "builtin", id: "policy-drop-log" }) : undefined;
    logs ||= policyLog !== undefined || rules.some((r) => r.log);
    return policyLog ? { ...c, rules, policyLog } : { ...c, rules };
  });
  if (!logs) return ir;
  const logLimit: LogLimit = { name: LOG_LIMIT_NAME, rate: logging.rate.count, per: logging.rate.per, burst: logging.burst };
  return { ...ir, chains, logLimit };
}

function logStatements(log: DropLog): Expr[] {
  return [
    { type: "limitRef", name: LOG_LIMIT_NAME },
    { type: "log", prefix: log.prefix, group: log.group },
  ];
}

/** The log rule for one kernel rule of a logged drop: the same matches, then limit and log. */
function logRuleFor(drop: KernelRule, log: DropLog): KernelRule {
  return { exprs: [...drop.exprs.filter((e) => e.type !== "counter" && e.type !== "verdict"), ...logStatements(log)], origin: drop.origin };
}

/** The log rules for the kernel rules of a logged drop, one for each (other layouts interleave them as they need). */
export function logRulesFor(drops: readonly KernelRule[], log: DropLog): KernelRule[] {
  return drops.map((k) => logRuleFor(k, log));
}

/** The rule that ends a chain whose drop policy is logged. */
export function policyLogRule(log: DropLog): KernelRule {
  return { exprs: logStatements(log), origin: { kind: "builtin", id: "policy-drop-log" } };
}

/** A chain's kernel rules with its log rules placed: right before each logged drop, and last for a logged policy. */
export function withLogRules(chain: IrChain, lower: (rule: IrRule) => KernelRule[]): KernelRule[] {
  const out: KernelRule[] = [];
  for (const r of chain.rules) {
    for (const k of lower(r)) {
      if (r.log) out.push(logRuleFor(k, r.log));
      out.push(k);
    }
  }
  if (chain.policyLog) out.push(policyLogRule(chain.policyLog));
  return out;
}
