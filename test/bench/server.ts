/**
 * One server for the benchmark, in its own process so the load generator never shares its event loop:
 *   tsx test/bench/server.ts gym <port> <dir> <stateless|strict>
 *   tsx test/bench/server.ts baseline <port> <dir>
 * Prints "ready" once it listens.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import { makeExecutableSchema } from '@graphql-tools/schema';
import express from 'express';
import { pino } from 'pino';
import { createApp } from '../../src/app.js';
import { loadKeyRing } from '../../src/auth/keys.js';
import { loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/client.js';
import { createLoaders } from '../../src/db/loaders.js';
import { plans } from '../../src/db/schema.js';
import { prepareData } from '../../src/db/seed.js';
import { loadTypeDefs } from '../../src/schema.js';

const [kind, portText, dir, revocation = 'stateless'] = process.argv.slice(2);
const port = Number(portText);
const databaseUrl = path.join(dir!, `${kind}-${revocation}.sqlite`);

async function gym(): Promise<http.Server> {
  const config = loadConfig({
    DATABASE_URL: databaseUrl,
    KEYS_DIR: path.join(dir!, 'keys'),
    SESSION_SECRET: randomBytes(32).toString('hex'),
    PORT: String(port),
    TOKEN_REVOCATION: revocation,
    // The benchmark measures serving, not the throttle: logins while loading must not be refused.
    LOGIN_MAX_FAILURES_PER_ADDRESS: '1000000',
    LOG_LEVEL: 'silent',
  });
  const database = openDatabase(config.databaseUrl);
  await prepareData(database.db, { seedDemo: true, production: false });
  const keycard = await createApp({ config, database, keyRing: loadKeyRing(config.keysDir, { createIfEmpty: true }), logger: pino({ level: 'silent' }) });
  return keycard.httpServer;
}

/** The same SDL and the same data, on bare Apollo Server: no directive, no sessions, no strategies, no limits. */
async function baseline(): Promise<http.Server> {
  const database = openDatabase(databaseUrl);
  await prepareData(database.db, { seedDemo: false, production: false });
  const schema = makeExecutableSchema({
    typeDefs: loadTypeDefs(),
    resolvers: { Query: { plans: () => database.db.select().from(plans).all() } },
  });
  const apollo = new ApolloServer({ schema });
  await apollo.start();
  const app = express();
  app.use('/graphql', express.json(), expressMiddleware(apollo, { context: async () => ({ loaders: createLoaders(database.db) }) }));
  return http.createServer(app);
}

const server = kind === 'gym' ? await gym() : await baseline();
server.listen(port, '127.0.0.1', () => console.log('ready'));
process.on('SIGTERM', () => process.exit(0));
