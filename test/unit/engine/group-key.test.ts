import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  groupKey,
  MAX_EVENT_TIME_MS,
  MAX_GROUP_KEY_LENGTH,
  MAX_USER_ID_LENGTH,
} from '../../../lib/engine/index.ts';

describe('groupKey', () => {
  it.each([
    { userId: 'user_A', start: 1000, expected: 'user_A|1970-01-01T00:00:01.000Z' },
    { userId: 'user_A', start: 0, expected: 'user_A|1970-01-01T00:00:00.000Z' },
    { userId: 'a|b', start: 1732435200123, expected: 'a|b|2024-11-24T08:00:00.123Z' },
    { userId: 'ü', start: MAX_EVENT_TIME_MS, expected: 'ü|9999-12-31T23:59:59.999Z' },
  ])('formats ($userId, $start) as $expected', ({ userId, start, expected }) => {
    // Act
    const key = groupKey(userId, start);

    // Assess
    expect(key).toBe(expected);
  });

  it('fits VARCHAR(255) for the longest user id and the latest start', () => {
    // Prepare
    const userId = 'u'.repeat(MAX_USER_ID_LENGTH);

    // Act
    const key = groupKey(userId, MAX_EVENT_TIME_MS);

    // Assess
    expect(MAX_USER_ID_LENGTH).toBe(230);
    expect(key).toHaveLength(MAX_GROUP_KEY_LENGTH);
    expect(groupKey(userId, MAX_EVENT_TIME_MS + 1).length).toBeGreaterThan(MAX_GROUP_KEY_LENGTH);
  });

  it('is the user id, a bar and exactly toISOString of the start, for any start in range', () => {
    // Act and assess
    fc.assert(
      fc.property(fc.string(), fc.integer({ min: 0, max: MAX_EVENT_TIME_MS }), (userId, start) => {
        expect(groupKey(userId, start)).toBe(`${userId}|${new Date(start).toISOString()}`);
      }),
      { numRuns: 10_000 },
    );
    // Days apart, then back: the kept date is the start's own.
    for (const start of [86_399_999, 86_400_000, 0, MAX_EVENT_TIME_MS, 951_782_400_000, 86_399_999]) {
      expect(groupKey('u', start)).toBe(`u|${new Date(start).toISOString()}`);
    }
  });
});
