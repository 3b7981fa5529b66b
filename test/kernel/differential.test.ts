// Differential proof against the kernel (issue 4 part 5), CI budget: random configurations (modes,
// profiles, both layouts, overlapping rules and port ranges, v4/v6 subnets with excepts, empty ingress) applied in a
// namespace, random packets sent for real; the kernel's verdict must equal the evaluator's for every
// packet. `npm run test:long` runs the same property at 10,000+ verdicts. DIFF_SEED replays a run.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { countsText, createDiffLab, differentialProperty, differentialSkipReason, newCounts, type DiffLab } from "../support/differential.js";

const CONFIGS = 25;
const PACKETS_PER_CONFIG = 12;
/** Each shrink step applies a configuration and probes again (about half a second). */
const MAX_SHRINKS = 60;

describe("differential: kernel verdicts = evaluator verdicts", { skip: differentialSkipReason() }, () => {
  let lab: DiffLab;
  before(async () => {
    lab = await createDiffLab("k4df");
  });
  after(() => lab?.close());

  it(`${CONFIGS} random configurations × ${PACKETS_PER_CONFIG} real packets`, async () => {
    const counts = newCounts();
    const seed = process.env.DIFF_SEED ? Number(process.env.DIFF_SEED) : Date.now() % 2 ** 31;
    try {
      await fc.assert(differentialProperty(lab, counts, PACKETS_PER_CONFIG, MAX_SHRINKS), { numRuns: CONFIGS, seed, includeErrorInReport: true });
    } finally {
      console.log(`differential (seed ${seed}): ${countsText(counts)}`);
    }
    assert.ok(counts.configs >= 20 && counts.packets >= 200, countsText(counts));
    assert.ok(counts.accepted > 0 && counts.dropped > 0, `both verdicts must occur: ${countsText(counts)}`);
    assert.ok(counts.portMap > 0 && counts.portMap < counts.configs, `both layouts must occur: ${countsText(counts)}`);
  });
});
