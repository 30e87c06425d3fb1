/**
 * The firing loop of the sandbox's durable queues (Scheduler's schedules,
 * Lambda's async events): every tick it starts each due item that is not
 * already running; stopping waits for the runs under way (or, halting, does
 * not). What is due lives
 * in the caller's persisted state, never in timers, so a restart carries on.
 */
export class DueLoop<T> {
  private readonly inFlight = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly tickMs: number,
    /** The items due at `now`, each with a key unique while it runs. */
    private readonly due: (now: number) => Iterable<readonly [key: string, item: T]>,
    private readonly run: (key: string, item: T) => Promise<void>,
  ) {}

  /** Starts the loop; what came due while it was stopped starts at once. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.tickMs);
    this.timer.unref();
    this.tick();
  }

  /** Stops starting runs and waits for those under way (their outcome is still recorded). */
  async stop(): Promise<void> {
    this.halt();
    await Promise.all(this.inFlight.values());
  }

  /** Stops starting runs; those under way are left to their caller. */
  halt(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  tick(): void {
    for (const [key, item] of this.due(Date.now())) {
      if (this.inFlight.has(key)) continue;
      const running = this.run(key, item).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, running);
    }
  }
}
