/**
 * The benchmark talks to each server it starts over the child process's IPC channel, never over HTTP, so that
 * readiness, minting credentials and reading counters cost the measured HTTP path nothing. Both ends live here:
 * {@link ServerProcess} in the benchmark, {@link serveCommands} in the server.
 */
import { fork, type ChildProcess } from 'node:child_process';

/**
 * What a server is asked to be; passed as its one argument, in JSON. `databaseUrl` is a SQLite file (each server has a
 * copy of its own) or a postgres:// URL (the servers on PostgreSQL share one database).
 */
export type ServerOptions =
  | { kind: 'gym'; databaseUrl: string; keysDir: string; revocation: 'stateless' | 'strict' }
  | { kind: 'baseline'; databaseUrl: string };

/** What the server counted since the last `reset-counters`. */
export interface Counters {
  /** SQL statements Drizzle ran (the database's query hook). */
  sqlStatements: number;
  /** p99 of the event-loop delay beyond the sampling interval, in ms (perf_hooks.monitorEventLoopDelay). */
  eventLoopP99Ms: number;
}

/** Every command a server answers, with its arguments and its result. */
export interface Commands {
  /** One refresh family (as a login starts) and one access token for each member. */
  'issue-tokens': { args: { memberIds: number[] }; result: string[] };
  /** `count` fresh access tokens, cycling over the members, on the families `issue-tokens` started for them. */
  'mint-tokens': { args: { memberIds: number[]; count: number }; result: string[] };
  'reset-counters': { args: Record<string, never>; result: null };
  'read-counters': { args: Record<string, never>; result: Counters };
}

export type CommandName = keyof Commands;

type Request = { id: number; command: CommandName; args: unknown };
type Reply = { type: 'reply'; id: number; result?: unknown; error?: string };
type Ready = { type: 'ready'; port: number };

export type CommandHandlers = { [K in CommandName]?: (args: Commands[K]['args']) => Commands[K]['result'] | Promise<Commands[K]['result']> };

/** What the scenarios need of a server: where it listens, its commands (a baseline answers none), how to stop it. */
export interface BenchServer {
  readonly name: string;
  readonly url: string;
  call<K extends CommandName>(command: K, args: Commands[K]['args']): Promise<Commands[K]['result']>;
  stop(): Promise<void>;
}

/** A server running in its own process (so that it never shares an event loop with the load generator). */
export class ServerProcess implements BenchServer {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (err: Error) => void }>();

  private constructor(
    readonly name: string,
    readonly url: string,
    private readonly child: ChildProcess,
  ) {
    child.on('message', (message: Reply) => {
      const waiting = this.pending.get(message.id);
      if (!waiting) return;
      this.pending.delete(message.id);
      if (message.error !== undefined) waiting.reject(new Error(`${name}: ${message.error}`));
      else waiting.resolve(message.result);
    });
    child.on('exit', (code, signal) => {
      for (const waiting of this.pending.values()) waiting.reject(new Error(`${name} exited (${signal ?? code})`));
      this.pending.clear();
    });
  }

  /**
   * Starts `script` with `node` (the compiled build, as `npm start` runs it) and waits for it to listen. Its stdout,
   * where the gym writes its request log, is discarded; its stderr is ours, so a crash is seen.
   */
  static start(name: string, script: string, options: ServerOptions): Promise<ServerProcess> {
    const child = fork(script, [JSON.stringify(options)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`${name} server exited with ${code} before it was ready`));
      child.once('exit', onExit);
      child.once('message', (message: Ready) => {
        child.off('exit', onExit);
        if (message.type !== 'ready') return reject(new Error(`${name} server said ${JSON.stringify(message)} instead of ready`));
        resolve(new ServerProcess(name, `http://127.0.0.1:${message.port}/graphql`, child));
      });
    });
  }

  /** Sends one command and waits for its answer. */
  call<K extends CommandName>(command: K, args: Commands[K]['args']): Promise<Commands[K]['result']> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.child.send({ id, command, args } satisfies Request);
    });
  }

  /** Stops the server and waits for it to be gone. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    await gone;
  }
}

/** In the server: says it listens on `port`, answers commands, and exits with the benchmark. */
export function serveCommands(port: number, handlers: CommandHandlers): void {
  const send = (message: Reply | Ready) => process.send!(message);
  process.on('message', async ({ id, command, args }: Request) => {
    try {
      const handler = handlers[command] as ((a: unknown) => unknown) | undefined;
      if (!handler) throw new Error(`this server does not answer ${command}`);
      send({ type: 'reply', id, result: await handler(args) });
    } catch (err) {
      send({ type: 'reply', id, error: err instanceof Error ? err.message : String(err) });
    }
  });
  // A benchmark that dies (or is interrupted) closes the channel: never outlive it.
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
  send({ type: 'ready', port });
}
