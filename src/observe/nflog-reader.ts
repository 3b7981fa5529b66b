// Reading an NFLOG group in a target (host or named netns). Node has no netlink sockets, so Debian's
// tcpdump does the binding (`tcpdump -i nflog:N -U -w -`: libpcap's nflog support, one pcap record per
// message, flushed per packet) and ingressfw parses the pcap stream (nflog-packet.ts). NFLOG works in every
// namespace (plain `log` reaches the kernel log only from the init namespace unless
// net.netfilter.nf_log_all_netns=1), and the kernel lets one reader bind a group per namespace.
import { spawn, type ChildProcess } from "node:child_process";
import { describeTarget, KernelError, type Target } from "../kernel/exec.js";
import { NflogPcapParser, type NflogRecord } from "./nflog-packet.js";

/** Reported as kind "nft-missing": a required tool is missing (exit 69). */
export const TCPDUMP_MISSING = "tcpdump not found: drop logs are read with it (Debian/Ubuntu: apt-get install tcpdump)";

/** Another socket holds the group (or, indistinguishably, no CAP_NET_ADMIN). */
export class NflogBusyError extends KernelError {}

export interface NflogReader {
  /** Resolves once the group is bound; rejects with a KernelError when it cannot be. */
  readonly ready: Promise<void>;
  /** Resolves when the reader has ended (stop, or tcpdump exited). */
  readonly done: Promise<void>;
  stop(): void;
}

export interface NflogReaderOptions {
  readonly target: Target;
  readonly group: number;
  readonly onRecord: (r: NflogRecord) => void;
  /** Called once if the stream breaks after it was ready. */
  readonly onError?: (e: Error) => void;
}

function startupError(stderr: string, o: NflogReaderOptions): KernelError {
  if (/exec of ".*" failed: No such file/.test(stderr)) return new KernelError("nft-missing", TCPDUMP_MISSING);
  if (/Cannot open network namespace/.test(stderr)) return new KernelError("unknown-netns", `unknown network namespace ${JSON.stringify(o.target.netns)}`);
  if (/Can't listen on group index: Operation not permitted/.test(stderr)) {
    // nfnetlink_log answers EPERM both without CAP_NET_ADMIN and when another socket holds the group.
    return new NflogBusyError(
      "failed",
      `cannot read NFLOG group ${o.group} in ${describeTarget(o.target)}: another process reads it (the ingressfw daemon, ulogd2, tcpdump), or no permission (run as root)`,
    );
  }
  if (/Operation not permitted|Permission denied/.test(stderr)) {
    return new KernelError("no-permission", `no permission to read NFLOG group ${o.group} in ${describeTarget(o.target)}: run as root`);
  }
  const line = stderr.trim().split("\n")[0] ?? "";
  return new KernelError("failed", `cannot read NFLOG group ${o.group} in ${describeTarget(o.target)}: ${line || "tcpdump exited"}`);
}

export function openNflogReader(o: NflogReaderOptions): NflogReader {
  const args = ["-i", `nflog:${o.group}`, "-U", "-w", "-", "-Z", "root"];
  const [file, argv] = o.target.netns ? ["ip", ["netns", "exec", o.target.netns, "tcpdump", ...args]] : ["tcpdump", args];
  const parser = new NflogPcapParser();
  let child: ChildProcess;
  let stderr = "";
  let isReady = false;
  let stopped = false;
  let markReady!: () => void;
  let fail!: (e: Error) => void;
  const ready = new Promise<void>((res, rej) => {
    markReady = res;
    fail = rej;
  });
  ready.catch(() => {}); // observed by the caller; a late rejection must not be unhandled
  const done = new Promise<void>((resolveDone) => {
    child = spawn(file, argv, { stdio: ["ignore", "pipe", "pipe"] });
    child.on("error", (e: NodeJS.ErrnoException) => {
      fail(
        e.code === "ENOENT"
          ? new KernelError(file === "tcpdump" ? "nft-missing" : "ip-missing", file === "tcpdump" ? TCPDUMP_MISSING : "ip not found: install iproute2")
          : e,
      );
      resolveDone();
    });
    child.stdout!.on("data", (chunk: Buffer) => {
      try {
        for (const r of parser.push(chunk)) o.onRecord(r);
      } catch (e) {
        o.onError?.(e as Error);
        child.kill();
      }
    });
    child.stderr!.on("data", (b: Buffer) => {
      stderr += b.toString("utf8");
      if (!isReady && /listening on nflog/.test(stderr)) {
        isReady = true;
        markReady();
      }
    });
    child.on("close", (code) => {
      if (!isReady) fail(startupError(stderr, o));
      else if (!stopped && code !== 0) o.onError?.(new KernelError("failed", `the NFLOG reader stopped: ${stderr.trim().split("\n").pop() ?? code}`));
      resolveDone();
    });
  });
  return {
    ready,
    done,
    stop() {
      stopped = true;
      child.kill("SIGTERM");
    },
  };
}
