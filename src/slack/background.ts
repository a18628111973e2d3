/**
 * Work that follows an ack runs here, a few at a time and after the current I/O turn, so a burst
 * of commands is acknowledged first and the follow-up work (hashing a run's files, Redis, Slack
 * calls) cannot delay later acks.
 */
export class BackgroundWork {
  private running = 0;
  private readonly waiting: (() => Promise<void>)[] = [];
  private readonly settled = new Set<Promise<void>>();

  constructor(
    private readonly concurrency: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  run(task: () => Promise<void>): void {
    this.waiting.push(task);
    setImmediate(() => this.pump());
  }

  private pump(): void {
    while (this.running < this.concurrency && this.waiting.length > 0) {
      const task = this.waiting.shift() as () => Promise<void>;
      this.running++;
      const p: Promise<void> = task()
        .catch(this.onError)
        .finally(() => {
          this.running--;
          this.settled.delete(p);
          setImmediate(() => this.pump());
        });
      this.settled.add(p);
    }
  }

  /** Resolves once every queued task has finished. */
  async drain(): Promise<void> {
    while (this.waiting.length > 0 || this.settled.size > 0) {
      await Promise.all([...this.settled]);
      await new Promise((r) => setImmediate(r));
    }
  }
}
