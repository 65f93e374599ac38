import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';

/** A worker that dies within this long of its start is failing to start, not crashing under load: wait before the next. */
const STARTUP_GRACE_MS = 5_000;
/** The longest wait between restarts of a worker that keeps dying at start. */
const MAX_RESTART_DELAY_MS = 30_000;
/** How long a stop waits for the workers to drain (each cuts itself off after 10 s) before the primary exits anyway. */
const STOP_TIMEOUT_MS = 15_000;

/**
 * The primary of a cluster (node:cluster): forks `count` workers, which share one listening port; replaces a worker
 * that exits unexpectedly (at once after a crash under load, with a growing delay while workers die at start, so a bad
 * configuration does not spin); on SIGTERM or SIGINT asks every worker to drain and exits once they all have.
 */
export function superviseWorkers(count: number, log: Pick<Logger, 'info' | 'warn' | 'error'>): void {
  let stopping = false;
  let restartDelay = 0;
  const startedAt = new Map<Worker, number>();

  const fork = () => {
    const worker = cluster.fork();
    startedAt.set(worker, Date.now());
  };

  cluster.on('exit', (worker, code, signal) => {
    const lived = Date.now() - (startedAt.get(worker) ?? 0);
    startedAt.delete(worker);
    if (stopping) {
      if (startedAt.size === 0) process.exit(0);
      return;
    }
    restartDelay = lived < STARTUP_GRACE_MS ? Math.min(MAX_RESTART_DELAY_MS, Math.max(1_000, restartDelay * 2)) : 0;
    log.error({ worker: worker.id, code, signal, restartInMs: restartDelay }, 'a worker exited; starting another');
    setTimeout(() => {
      if (!stopping) fork();
    }, restartDelay).unref();
  });

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, workers: startedAt.size }, 'stopping the workers');
    for (const worker of startedAt.keys()) worker.process.kill(signal);
    setTimeout(() => process.exit(1), STOP_TIMEOUT_MS).unref();
    if (startedAt.size === 0) process.exit(0);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  for (let i = 0; i < count; i++) fork();
  log.info({ workers: count }, 'Keycard is starting its workers');
}
