import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckInRow } from '../../src/db/data.js';
import { toGlobalId } from '../../src/ids.js';
import type { Actor, Rows } from '../../src/services/actor.js';
import { login } from '../../src/services/auth.js';
import { checkIn, watchCheckIns } from '../../src/services/check-ins.js';
import type { Services } from '../../src/services/services.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { Client, DEMO, sessionClient } from '../helpers/client.js';

const ACTOR_FIELDS = new Set(['viewer', 'clientAddress', 'session']);

/**
 * An actor that is nothing more: reading anything a GraphQL context has besides (its services, loaders, request log,
 * socket) throws, so a service that still reached for the context fails here.
 */
function bareActor(fields: Actor): Actor {
  return new Proxy(fields, {
    get(target, key, receiver) {
      if (typeof key === 'string' && !ACTOR_FIELDS.has(key)) throw new Error(`the service reached for ${key}, which an actor does not have`);
      return Reflect.get(target, key, receiver) as unknown;
    },
  });
}

/** The rows checkIn reads, straight from the database: no request, no DataLoader. */
function storageRows(services: Services): Pick<Rows, 'membershipByMemberId' | 'planById'> {
  return {
    membershipByMemberId: { load: async (memberId) => (await services.data.memberships.byMemberIds([memberId]))[0] ?? null },
    planById: { load: async (id) => (await services.data.plans.byIds([id]))[0] ?? null },
  };
}

/** The next value `watch` hands over, or a failure after a while. */
function nextEvent<T>(watch: (push: (value: T) => void) => () => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error('no event came'));
    }, 5_000);
    const stop = watch((value) => {
      clearTimeout(timer);
      stop();
      resolve(value);
    });
  });
}

describe('services, called without GraphQL', () => {
  let app: TestApp;
  let services: Services;
  beforeAll(async () => {
    app = await startTestApp();
    services = app.keycard.services;
  });
  afterAll(() => app.close());

  it('signs a member in with login given only who asks and from where, and the keycard it issues opens the API', async () => {
    const payload = await login(services, bareActor({ viewer: null, clientAddress: '203.0.113.7' }), { ...DEMO.alice, mode: 'TOKEN' });
    expect(payload).toMatchObject({ method: 'TOKEN', member: { email: DEMO.alice.email }, viewer: { method: 'TOKEN', role: 'MEMBER' } });
    const client = new Client(app.url);
    client.headers.authorization = `Bearer ${payload.accessToken}`;
    const me = await client.gql(`{ me { email } viewer { method } }`);
    expect(me.data).toEqual({ me: { email: DEMO.alice.email }, viewer: { method: 'TOKEN' } });
  });

  it('refuses a wrong password with INVALID_CREDENTIALS, as over GraphQL', async () => {
    const actor = bareActor({ viewer: null, clientAddress: '198.51.100.9' });
    await expect(login(services, actor, { email: DEMO.bob.email, password: 'not the password', mode: 'TOKEN' })).rejects.toMatchObject({
      extensions: { code: 'INVALID_CREDENTIALS' },
    });
  });

  it('checks a member in for the viewer it is given, writes the access sheet, and tells whoever watches', async () => {
    const { viewer } = await login(services, bareActor({ viewer: null, clientAddress: '203.0.113.8' }), { ...DEMO.alice, mode: 'TOKEN' });
    const alices = nextEvent<CheckInRow>((push) => watchCheckIns(services, viewer.memberId, push));
    const row = await checkIn(services, bareActor({ viewer, clientAddress: '203.0.113.8' }), storageRows(services), 'side door');
    expect(row).toMatchObject({ memberId: viewer.memberId, door: 'side door', method: 'TOKEN' });
    expect(await alices).toEqual(row);
    const staff = await sessionClient(app.url, 'staff');
    const sheet = await staff.gql(`{ checkIns(first: 1) { edges { node { id door member { email } } } } }`);
    expect(sheet.data.checkIns.edges[0].node).toEqual({ id: toGlobalId('CheckIn', row.id), door: 'side door', member: { email: DEMO.alice.email } });
  });

  it('refuses a check-in for nobody as UNAUTHENTICATED, writing nothing', async () => {
    const before = ((await app.database.sql.get('select count(*) n from check_ins')) as { n: number | string }).n;
    await expect(checkIn(services, bareActor({ viewer: null, clientAddress: '203.0.113.8' }), storageRows(services), 'main')).rejects.toMatchObject({
      extensions: { code: 'UNAUTHENTICATED' },
    });
    expect(((await app.database.sql.get('select count(*) n from check_ins')) as { n: number | string }).n).toEqual(before);
  });
});
