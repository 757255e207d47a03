import { afterEach, describe, expect, it, vi } from 'vitest';
import { jitteredDelay, sleep } from '../../lib/shared/index.ts';

// Exponential backoff with full jitter: the wait grows with the attempt, never beyond the cap, and
// a stop wakes a sleeper at once.

describe('jitteredDelay', () => {
  afterEach(() => vi.restoreAllMocks());

  it.each([
    { attempt: 0, expected: 25 },
    { attempt: 3, expected: 200 },
    { attempt: 10, expected: 2000 },
    { attempt: 10_000, expected: 2000 },
  ])('waits below min(cap, base * 2^$attempt): at most $expected ms', ({ attempt, expected }) => {
    // Prepare: the largest random number, then the smallest.
    vi.spyOn(Math, 'random').mockReturnValueOnce(0.999999).mockReturnValueOnce(0);

    // Act & Assess
    expect(jitteredDelay(attempt, 25, 2000)).toBeCloseTo(expected, 0);
    expect(jitteredDelay(attempt, 25, 2000)).toBe(0);
  });
});

describe('sleep', () => {
  it('returns at once when its signal aborts, without throwing', async () => {
    // Prepare
    const controller = new AbortController();
    const started = performance.now();

    // Act
    const sleeping = sleep(60_000, controller.signal);
    controller.abort();
    await sleeping;

    // Assess
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});
