import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { Db } from './client.js';
import { appSecrets } from './schema.js';

/**
 * A secret Keycard makes once (32 random bytes) and then always reads back: the first instance to start writes it,
 * every later start and every other instance gets the same value.
 */
export function getOrCreateSecret(db: Db, name: string): string {
  db.insert(appSecrets)
    .values({ name, value: randomBytes(32).toString('base64url'), createdAt: new Date() })
    .onConflictDoNothing({ target: appSecrets.name })
    .run();
  return db.select().from(appSecrets).where(eq(appSecrets.name, name)).get()!.value;
}
