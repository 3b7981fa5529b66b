import assert from "node:assert/strict";
import { describe, it, mock } from "node:test";
import { debounce } from "./debounce.js";

describe("debounce", () => {
  it("runs once after a burst, waitMs after the last trigger", () => {
    mock.timers.enable({ apis: ["setTimeout", "Date"] });
    try {
      let runs = 0;
      const d = debounce(() => runs++, 100, 1000);
      d.trigger();
      mock.timers.tick(50);
      d.trigger();
      mock.timers.tick(99);
      assert.equal(runs, 0);
      mock.timers.tick(1);
      assert.equal(runs, 1);
      mock.timers.tick(500);
      assert.equal(runs, 1);
    } finally {
      mock.timers.reset();
    }
  });

  it("a steady stream of triggers cannot postpone it past maxWaitMs", () => {
    mock.timers.enable({ apis: ["setTimeout", "Date"] });
    try {
      let runs = 0;
      const d = debounce(() => runs++, 100, 300);
      for (let t = 0; t < 300; t += 50) {
        d.trigger();
        mock.timers.tick(50);
      }
      assert.equal(runs, 1);
    } finally {
      mock.timers.reset();
    }
  });

  it("cancel drops a pending run", () => {
    mock.timers.enable({ apis: ["setTimeout", "Date"] });
    try {
      let runs = 0;
      const d = debounce(() => runs++, 100, 300);
      d.trigger();
      d.cancel();
      mock.timers.tick(1000);
      assert.equal(runs, 0);
    } finally {
      mock.timers.reset();
    }
  });
});
