import { randomBytes } from 'node:crypto';
import type { GymData } from './data.js';

/**
 * A secret Keycard makes once (32 random bytes) and then always reads back: the first instance to start writes it,
 * every later start and every other instance gets the same value.
 */
export async function getOrCreateSecret(data: GymData, name: string): Promise<string> {
  await data.secrets.insertIfAbsent(name, randomBytes(32).toString('base64url'), new Date());
  const value = await data.secrets.get(name);
  if (value === undefined) throw new Error(`the secret ${name} was neither written nor found`);
  return value;
}
