// The machine a run measured, and the kernel facts the method depends on.
import { readFileSync } from "node:fs";
import { availableParallelism, cpus, release, totalmem } from "node:os";
import { gunzipSync } from "node:zlib";
import { run } from "../src/kernel/exec.js";

export interface HostInfo {
  readonly cpuModel: string;
  readonly cpus: number;
  readonly memoryGiB: number;
  readonly kernel: string;
  readonly nft: string;
  readonly node: string;
  /**
   * CONFIG_IRQ_TIME_ACCOUNTING: when set, softirq time (the receive path) is not charged to the sending
   * thread, so its CPU time would miss the firewall; null when the kernel config is unreadable.
   */
  readonly irqTimeAccounting: boolean | null;
}

function kernelConfig(): string | null {
  try {
    return gunzipSync(readFileSync("/proc/config.gz")).toString("utf8");
  } catch {
    try {
      return readFileSync(`/boot/config-${release()}`, "utf8");
    } catch {
      return null;
    }
  }
}

export async function hostInfo(): Promise<HostInfo> {
  const config = kernelConfig();
  const nft = await run("nft", ["--version"]).catch(() => null);
  return {
    cpuModel: cpus()[0]?.model.trim() ?? "unknown",
    cpus: availableParallelism(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    nft: nft?.code === 0 ? nft.stdout.trim() : "nft not found",
    node: process.version,
    irqTimeAccounting: config === null ? null : /^CONFIG_IRQ_TIME_ACCOUNTING=y$/m.test(config),
  };
}

/** Sender CPU time measures the whole path only when softirq time is charged to the task. */
export function chooseClock(choice: "auto" | "cpu" | "wall", host: HostInfo): "cpu" | "wall" {
  if (choice !== "auto") return choice;
  return host.irqTimeAccounting === false ? "cpu" : "wall";
}
