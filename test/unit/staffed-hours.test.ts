import { describe, expect, it } from 'vitest';
import { gymHour, withinStaffedHours } from '../../src/services/check-ins.js';

describe('staffed hours (06:00 to 22:00 on the gym clock)', () => {
  it('opens at 06:00 and closes at 22:00 exactly', () => {
    expect(withinStaffedHours(new Date('2026-11-26T05:59:59Z'), 'UTC')).toBe(false);
    expect(withinStaffedHours(new Date('2026-11-26T06:00:00Z'), 'UTC')).toBe(true);
    expect(withinStaffedHours(new Date('2026-11-26T21:59:59Z'), 'UTC')).toBe(true);
    expect(withinStaffedHours(new Date('2026-11-26T22:00:00Z'), 'UTC')).toBe(false);
    expect(withinStaffedHours(new Date('2026-11-26T00:30:00Z'), 'UTC')).toBe(false);
  });

  it('reads the hour in the gym time zone, daylight saving included', () => {
    // 05:30 UTC is 06:30 in Paris in winter (UTC+1) and 07:30 in summer (UTC+2).
    expect(gymHour(new Date('2026-01-15T05:30:00Z'), 'Europe/Paris')).toBe(6);
    expect(gymHour(new Date('2026-07-15T05:30:00Z'), 'Europe/Paris')).toBe(7);
    expect(withinStaffedHours(new Date('2026-01-15T05:30:00Z'), 'Europe/Paris')).toBe(true);
    expect(withinStaffedHours(new Date('2026-01-15T05:30:00Z'), 'America/New_York')).toBe(false);
  });
});
