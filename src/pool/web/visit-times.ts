import { escapeHtml } from '../../shared/pages.js';

/** How a person reads a visit: `3 Dec 2026, 15:33`, on a 24-hour clock (h23: midnight is 00:05, never 24:05). */
const READABLE = { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' } as const;

/**
 * The visits as list items a person reads, in the pool's time zone, each a `<time>` whose `datetime` keeps the instant
 * for machines (ISO 8601, UTC).
 */
export function visitTimes(visits: readonly Date[], timeZone: string): string {
  const format = new Intl.DateTimeFormat('en-GB', { ...READABLE, timeZone });
  return visits.map((at) => `<li><time datetime="${at.toISOString()}">${escapeHtml(format.format(at))}</time></li>`).join('');
}
