import type { GymData } from '../db/data.js';
import { PostgresPubSub } from './pg-pubsub.js';
import { InProcessPubSub, type PubSub } from './pubsub.js';

/**
 * The pub/sub that goes with the gym's database: in-process on SQLite (which one process serves: WEB_CONCURRENCY above
 * 1 is refused), LISTEN/NOTIFY on PostgreSQL (which every process hears). The caller closes it before the database.
 */
export async function openPubSub(data: Pick<GymData, 'notifications'>, log: { warn: (obj: object, msg: string) => void }): Promise<PubSub> {
  if (data.notifications) return PostgresPubSub.open(data.notifications.pool, data.notifications.url, log);
  return new InProcessPubSub((err) => log.warn({ err }, 'a listener of a database event failed'));
}
