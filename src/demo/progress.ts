// Progress lines on stderr while the demo works: one line per step with its outcome and time; on a
// terminal a step can also show a live counter.

export class Progress {
  private readonly live: boolean;
  /** The head of the step whose line is still open, if any. */
  private open: string | null = null;

  constructor(
    private readonly stream: NodeJS.WritableStream & { isTTY?: boolean },
    private readonly dim: (s: string) => string,
  ) {
    this.live = Boolean(stream.isTTY);
  }

  note(text: string): void {
    this.stream.write(`  ${this.dim(text)}\n`);
  }

  /** Run one step. `update` shows interim status on a terminal; `summary` turns the result into the outcome text. */
  async step<T>(text: string, fn: (update: (status: string) => void) => Promise<T>, summary: (result: T) => string = () => "done"): Promise<T> {
    const head = `• ${text} …`;
    this.stream.write(head);
    this.open = head;
    let shown = 0;
    const update = (status: string) => {
      // At most ~10 redraws a second: a counter over hundreds of probes need not draw each one.
      if (!this.live || this.open !== head || performance.now() - shown < 100) return;
      shown = performance.now();
      this.stream.write(`\r\x1b[K${head} ${status}`);
    };
    const t0 = performance.now();
    try {
      const result = await fn(update);
      this.finish(head, `${summary(result)} ${this.dim(`(${seconds(performance.now() - t0)})`)}`);
      return result;
    } catch (e) {
      this.finish(head, "failed");
      throw e;
    }
  }

  /** Close the open step's line and say why the demo stops (a signal arrived). */
  interrupt(message: string): void {
    if (this.open !== null) this.finish(this.open, "interrupted");
    this.stream.write(`${message}\n`);
  }

  private finish(head: string, outcome: string): void {
    if (this.open !== head) return; // closed already by interrupt()
    this.open = null;
    this.stream.write(this.live ? `\r\x1b[K${head} ${outcome}\n` : ` ${outcome}\n`);
  }
}

export function seconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}
