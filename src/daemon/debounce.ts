// A trailing debounce with a ceiling: `fn` runs `waitMs` after the last trigger, but never later than
// `maxWaitMs` after the first trigger of a burst, so a steady stream of events cannot postpone it forever.

export interface Debounced {
  trigger(): void;
  cancel(): void;
}

export function debounce(fn: () => void, waitMs: number, maxWaitMs: number): Debounced {
  let timer: NodeJS.Timeout | null = null;
  let burstStart = 0;
  const fire = () => {
    timer = null;
    fn();
  };
  return {
    trigger() {
      const now = Date.now();
      if (timer === null) burstStart = now;
      else clearTimeout(timer);
      timer = setTimeout(fire, Math.max(0, Math.min(waitMs, burstStart + maxWaitMs - now)));
    },
    cancel() {
      if (timer !== null) clearTimeout(timer);
      timer = null;
    },
  };
}
