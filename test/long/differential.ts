// `npm run test:long`: the differential property of test/kernel/differential.test.ts at scale — by
// default 500 configurations × 24 packets = 12,000 real packet verdicts. DIFF_CONFIGS and DIFF_PACKETS
// scale it, DIFF_SEED replays a run. Prints the counts, the duration and any counterexample (shrunk);
// exits 1 on a counterexample or when the kernel tests cannot run here.
import { performance } from "node:perf_hooks";
import fc from "fast-check";
import { countsText, createDiffLab, differentialProperty, differentialSkipReason, newCounts } from "../support/differential.js";

const MAX_SHRINKS = 200;
const PROGRESS_EVERY_MS = 30_000;

function intEnv(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === "") return fallback;
  if (!/^[1-9][0-9]*$/.test(v)) throw new Error(`${name} must be a positive integer, not ${JSON.stringify(v)}`);
  return Number(v);
}

async function main(): Promise<number> {
  const skip = differentialSkipReason();
  if (skip) {
    console.error(`test:long cannot run: ${skip}`);
    return 1;
  }
  const configs = intEnv("DIFF_CONFIGS", 500);
  const packets = intEnv("DIFF_PACKETS", 24);
  const seed = intEnv("DIFF_SEED", (Date.now() % 2 ** 31) + 1);
  console.log(`differential: ${configs} configurations × ${packets} packets, seed ${seed}`);
  const counts = newCounts();
  const started = performance.now();
  const progress = setInterval(() => console.log(`  … ${countsText(counts)}`), PROGRESS_EVERY_MS);
  const lab = await createDiffLab("k4dl");
  let details;
  try {
    details = await fc.check(differentialProperty(lab, counts, packets, MAX_SHRINKS), { numRuns: configs, seed, includeErrorInReport: true });
  } finally {
    clearInterval(progress);
    lab.close();
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`differential (seed ${seed}): ${countsText(counts)}; ${details.failed ? 1 : 0} failure(s); ${seconds} s`);
  if (!details.failed) return 0;
  console.log(await fc.asyncDefaultReportMessage(details));
  return 1;
}

process.exitCode = await main();
