// The line protocol between the demo and its agents (one JSON object per line on stdin/stdout).

/** The agent's command line starts with this marker; `demo --clean` stops only processes that carry it. */
export const AGENT_MARKER = "--ifw-demo-agent";

export interface ProbeRequest {
  readonly id: number;
  readonly op: "probe";
  readonly proto: "tcp" | "udp" | "icmp";
  readonly host: string;
  /** Ignored for ICMP. */
  readonly port: number;
  readonly timeoutMs: number;
}

/** Keep listening after the demo exits (demo --keep): stdin closing no longer stops the agent. */
export interface KeepRequest {
  readonly id: number;
  readonly op: "keep";
}

export type AgentRequest = ProbeRequest | KeepRequest;

/**
 * open: connected / UDP reply / echo reply. drop: no answer within the timeout. refused: the host answered
 * that nothing listens (TCP RST, ICMP port unreachable) — the firewall let it in. error: anything else.
 */
export type Observed = "open" | "drop" | "refused" | "error";

export type AgentMessage =
  | { readonly type: "ready" }
  | { readonly type: "fatal"; readonly message: string }
  | { readonly type: "result"; readonly id: number; readonly observed: Observed; readonly detail?: string }
  | { readonly type: "kept"; readonly id: number };
