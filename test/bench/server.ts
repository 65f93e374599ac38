/**
 * One server of the benchmark, in its own process, started by bench.ts from the compiled build:
 *
 *   node dist/gym/test/bench/server.js '{"kind":"gym","databaseUrl":…,"keysDir":…,"revocation":"stateless"}'
 *   node dist/gym/test/bench/server.js '{"kind":"baseline","databaseUrl":…}'
 *
 * The gym starts the way `npm start` does (configuration from environment variables, the key ring, migrations,
 * prepareData, createApp with its default logger at the default level) and answers the benchmark's commands over IPC:
 * credentials to mint, SQL statements counted, event-loop delay measured.
 */
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
// The gym as main.ts assembles it; if the gym renames one of these, only its import line changes.
import { createApp, type KeycardApp } from '../../src/app.js';
import { loadKeyRing } from '../../src/auth/keys.js';
import { loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/client.js';
import type { MemberRow } from '../../src/db/data.js';
import { prepareData } from '../../src/seed.js';
import { createBaselineServer } from './baseline.js';
import { gymEnvironment } from './environment.js';
import { serveCommands, type CommandHandlers, type ServerOptions } from './ipc.js';

type GymOptions = Extract<ServerOptions, { kind: 'gym' }>;

/** Listens on a port the OS picks, on loopback only. */
function listen(server: http.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

/** Access tokens minted in this process through the gym's own services: no password, no argon2, no HTTP. */
function tokenMinter(keycard: KeycardApp, readMembers: (ids: number[]) => Promise<MemberRow[]>) {
  const { accessTokens, refreshTokens } = keycard.services;
  const known = new Map<number, { member: MemberRow; familyId: string }>();
  return {
    /** One token per member, in the order asked for. */
    async issue(memberIds: number[]): Promise<string[]> {
      const rows = new Map((await readMembers(memberIds)).map((m) => [m.id, m]));
      const tokens: string[] = [];
      for (const id of memberIds) {
        const member = rows.get(id);
        if (!member) throw new Error(`issue-tokens: no member ${id}`);
        const { familyId } = await refreshTokens.startFamily(member.id, member.tokenVersion);
        known.set(member.id, { member, familyId });
        tokens.push(accessTokens.issue(member, familyId).token);
      }
      return tokens;
    },
    /** Each token is new (its own jti) even for a member seen before: no cache can have seen it. */
    mint(memberIds: number[], count: number): string[] {
      return Array.from({ length: count }, (_, i) => {
        const entry = known.get(memberIds[i % memberIds.length]!);
        if (!entry) throw new Error('mint-tokens: issue-tokens first, for every member');
        return accessTokens.issue(entry.member, entry.familyId).token;
      });
    },
  };
}

/** How often the event-loop delay is sampled (ms). */
const LOOP_RESOLUTION_MS = 10;

async function startGym(options: GymOptions): Promise<void> {
  let sqlStatements = 0;
  const config = loadConfig(gymEnvironment(options));
  const keyRing = loadKeyRing(config.keysDir, { createIfEmpty: true });
  const database = await openDatabase(config.databaseUrl, { poolSize: config.databasePoolSize, onQuery: () => void sqlStatements++ });
  await prepareData(database, config);
  const keycard = await createApp({ config, database, keyRing });
  const port = await listen(keycard.httpServer);
  const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  loop.enable();
  const minter = tokenMinter(keycard, async (ids) => database.members.byIds(ids));
  const handlers: CommandHandlers = {
    'issue-tokens': ({ memberIds }) => minter.issue(memberIds),
    'mint-tokens': ({ memberIds, count }) => minter.mint(memberIds, count),
    'reset-counters': () => {
      sqlStatements = 0;
      loop.reset();
      return null;
    },
    // The histogram is in nanoseconds, and each sample is the whole interval between two ticks of its timer: the
    // delay is what exceeds the resolution (as @fastify/under-pressure computes it). An idle loop reads ~0.
    'read-counters': () => ({ sqlStatements, eventLoopP99Ms: Math.max(0, loop.percentile(99) / 1e6 - LOOP_RESOLUTION_MS) }),
  };
  serveCommands(port, handlers);
}

async function startBaseline(options: ServerOptions): Promise<void> {
  // On PostgreSQL, a pool the size of the gym's (DATABASE_POOL_SIZE, which the gym's environment leaves at its default).
  const database = await openDatabase(options.databaseUrl, { poolSize: loadConfig({ DATABASE_URL: options.databaseUrl }).databasePoolSize });
  const server = await createBaselineServer(database);
  serveCommands(await listen(server), {});
}

const options = JSON.parse(process.argv[2] ?? '{}') as ServerOptions;
if (options.kind === 'gym') await startGym(options);
else if (options.kind === 'baseline') await startBaseline(options);
else throw new Error(`bench server: unknown kind in ${process.argv[2]}`);
