/**
 * The gym as an operator runs it with WEB_CONCURRENCY: `node dist/gym/src/main.js`, a primary that prepares once and
 * forks the workers, which share one port (node:cluster hands the connections round to them). The workers have no
 * channel to the benchmark, so this server answers none of its commands, like the baseline: its tokens are minted by
 * a gym process sharing its keys, its issuer and its database (a stateless token needs nothing else to verify), and
 * it counts nothing, so its sql/req and loop p99 stay blank.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { BenchServer } from './ipc.js';

/** The gym's entry point in the same build as this file (dist/gym/test/bench/ → dist/gym/src/). */
const MAIN_SCRIPT = fileURLToPath(new URL('../../src/main.js', import.meta.url));
/** The primary migrates and forks; each worker opens its pool and builds the schema. Seconds on a busy machine. */
const READY_TIMEOUT_MS = 60_000;

/** A port nobody listens on now, for a server that wants a number rather than 0. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** The worker a log line says is serving (main.ts logs it once per worker, at info), if that is what it says. */
function servingWorker(line: string): number | undefined {
  if (!line.includes('Keycard is serving')) return undefined;
  try {
    const entry = JSON.parse(line) as { msg?: string; worker?: number };
    return entry.msg === 'Keycard is serving' && typeof entry.worker === 'number' ? entry.worker : undefined;
  } catch {
    return undefined;
  }
}

/** How often the log is read for the workers' first lines while they start. */
const POLL_MS = 100;

export class ClusterProcess implements BenchServer {
  private constructor(
    readonly name: string,
    readonly url: string,
    private readonly child: ChildProcess,
  ) {}

  /**
   * Starts the gym with `workers` workers and the given environment (a clean one: nothing of the benchmark's own
   * leaks in), and waits until every worker has said it is serving: until then the primary hands every connection to
   * the workers that are, and the run would measure fewer. Its stdout, the request log, goes to `logFile`, where the
   * benchmark reads only those first lines (reading the whole log through a pipe would load the load generator); its
   * stderr is ours, so a crash is seen.
   */
  static async start(name: string, options: { workers: number; environment: Record<string, string>; cwd: string; logFile: string }): Promise<ClusterProcess> {
    const port = await freePort();
    const log = openSync(options.logFile, 'w');
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, [MAIN_SCRIPT], {
        cwd: options.cwd,
        env: { ...options.environment, WEB_CONCURRENCY: String(options.workers), PORT: String(port) },
        stdio: ['ignore', log, 'inherit'],
      });
    } finally {
      // The child has its own copy of the descriptor.
      closeSync(log);
    }
    const cluster = new ClusterProcess(name, `http://127.0.0.1:${port}/graphql`, child);
    try {
      const deadline = performance.now() + READY_TIMEOUT_MS;
      for (;;) {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${name} exited (${child.signalCode ?? child.exitCode}) before its workers were serving`);
        const serving = new Set(readFileSync(options.logFile, 'utf8').split('\n').flatMap((line) => servingWorker(line) ?? []));
        if (serving.size >= options.workers) return cluster;
        if (performance.now() > deadline) throw new Error(`${name}: ${serving.size} of ${options.workers} workers serving after ${READY_TIMEOUT_MS / 1000} s`);
        await sleep(POLL_MS);
      }
    } catch (err) {
      await cluster.stop();
      throw err;
    }
  }

  call(): Promise<never> {
    return Promise.reject(new Error(`${this.name} answers no commands: its workers have no channel to the benchmark`));
  }

  /** Stops the primary, which drains its workers first, and waits for it to be gone. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    await gone;
  }
}
