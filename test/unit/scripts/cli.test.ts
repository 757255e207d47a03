import { describe, expect, it } from 'vitest';
import { wholeNumber } from '../../../scripts/cli.ts';

describe('wholeNumber', () => {
  it('reads a whole number at or above the minimum', () => {
    expect(wholeNumber('n', ' 12 ', 1)).toBe(12);
  });

  it('names the option when the value is wrong', () => {
    expect(() => wholeNumber('interval', '-3', 1)).toThrow(
      '--interval must be a whole number >= 1, got "-3"',
    );
  });
});
