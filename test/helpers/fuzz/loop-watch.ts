import { performance } from 'node:perf_hooks';

/**
 * How long the event loop was held, measured in this process: a timer that should fire every `intervalMs` notes how
 * late it fires. perf_hooks' monitorEventLoopDelay measures the same, but a reset drops the interval it falls in, so a
 * stall that begins right after the reset (a request answered at once, on loopback) goes unseen.
 */
export class LoopWatch {
  private last = performance.now();
  private worst = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly intervalMs = 10) {
    this.timer = setInterval(() => {
      const now = performance.now();
      this.worst = Math.max(this.worst, now - this.last - this.intervalMs);
      this.last = now;
    }, intervalMs);
    this.timer.unref();
  }

  /**
   * The longest stall since the previous call, in milliseconds, the interval running now included: a stall that has
   * just ended is counted even before the timer fires again.
   */
  take(): number {
    const now = performance.now();
    const worst = Math.max(this.worst, now - this.last - this.intervalMs);
    // The next window starts now, so a stall counted here is not counted again when the timer catches up.
    this.last = now;
    this.worst = 0;
    return Math.max(0, worst);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
