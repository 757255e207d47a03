import { describe, expect, it } from 'vitest';
import { initialPartitionState, recordWatermark } from '../../../lib/engine/index.ts';

describe('initialPartitionState', () => {
  it('starts at offset 0 with the watermark at minus infinity', () => {
    // Act
    const state = initialPartitionState();

    // Assess
    expect(state).toEqual({
      nextOffset: 0,
      watermark: null,
      maxEventTime: null,
      lastLogTime: null,
    });
  });
});

describe('recordWatermark', () => {
  it.each([
    { t: 1000, bound: 0, expected: 999 },
    { t: 1000, bound: 500, expected: 499 },
    { t: 0, bound: 0, expected: -1 },
  ])('is t - B - 1 for t = $t, B = $bound', ({ t, bound, expected }) => {
    // Act
    const w = recordWatermark(t, bound);

    // Assess
    expect(w).toBe(expected);
  });
});
