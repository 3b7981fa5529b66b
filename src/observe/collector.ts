// The drop collector: reads ingressfw's NFLOG group in a target, turns records into drop events attributed
// to documents, and hands them on (printed by `logs --follow`, appended to the journal). The daemon can run
// the same collector for a target it manages.
import { describeTarget, KernelError, runIn, type Target } from "../kernel/exec.js";
import type { AppliedState } from "../kernel/state.js";
import { attributionsFromNotes, dropEventOf, type Attribution, type DropEvent } from "./drop-event.js";
import { openNflogReader, type NflogReader } from "./nflog-reader.js";

/** Interface index → name in the target (`ip -j link show`). */
export async function interfaceNames(target: Target): Promise<Map<number, string>> {
  const res = await runIn(target, "ip", ["-j", "link", "show"]);
  if (res.code !== 0) throw new KernelError("failed", `cannot list the interfaces of ${describeTarget(target)}: ${res.stderr.trim()}`);
  const links = JSON.parse(res.stdout) as { ifindex: number; ifname: string }[];
  return new Map(links.map((l) => [l.ifindex, l.ifname]));
}

const LOG_GROUP_IN_TEXT = /\blog prefix "(?:[^"\\]|\\.)*" group (\d+)/;

/** The NFLOG group the applied ruleset's log rules send to; null when it logs nothing. */
export function loggedGroup(state: AppliedState | null): number | null {
  for (const c of state?.ruleset.chains ?? []) {
    for (const r of c.rules) {
      const m = LOG_GROUP_IN_TEXT.exec(r.text);
      if (m) return Number(m[1]);
    }
  }
  return null;
}

export interface CollectorOptions {
  readonly target: Target;
  readonly group: number;
  /** Read at every event, so a newer apply's documents are named (the daemon re-applies). */
  readonly state: () => AppliedState | null;
  readonly onEvent: (e: DropEvent) => void;
  readonly onError?: (e: Error) => void;
}

export async function startCollector(o: CollectorOptions): Promise<NflogReader> {
  let ifnames = await interfaceNames(o.target);
  let refreshing = false;
  let attributions = new Map<string, Attribution>();
  let attributedFrom: AppliedState | null | undefined;
  const reader = openNflogReader({
    target: o.target,
    group: o.group,
    onError: o.onError,
    onRecord: (r) => {
      const state = o.state();
      if (state !== attributedFrom) {
        attributedFrom = state;
        attributions = attributionsFromNotes(state?.ruleset.chains ?? []);
      }
      const e = dropEventOf(r, ifnames, attributions);
      if (e) o.onEvent(e);
      // An interface created after the start: refresh the names for the next events.
      if (r.inIfindex !== null && !ifnames.has(r.inIfindex) && !refreshing) {
        refreshing = true;
        void interfaceNames(o.target)
          .then((m) => (ifnames = m))
          .catch(() => {})
          .finally(() => (refreshing = false));
      }
    },
  });
  await reader.ready;
  return reader;
}
