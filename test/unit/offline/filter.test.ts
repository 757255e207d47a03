import { describe, expect, it } from 'vitest';
import type { KafkaRecord } from '../../../lib/decode/index.ts';
import { parseFilterPatterns, passesFilters } from '../../../offline/filter.ts';

const record = (value: string | null): KafkaRecord => ({
  topic: 'user_activity',
  partition: 0,
  offset: 0,
  timestamp: 0,
  timestampType: 'CREATE_TIME',
  key: null,
  value: value === null ? null : Buffer.from(value),
  headers: [],
});

describe('filterPatterns (Lambda event filtering on the Kafka value)', () => {
  it.each([
    ['exact value', { value: { userId: ['user_A'] } }, '{"userId":"user_A","timestamp":1}', true],
    [
      'exact value, other user',
      { value: { userId: ['user_A'] } },
      '{"userId":"user_B","timestamp":1}',
      false,
    ],
    [
      'prefix (the AWS example)',
      { value: { device_ID: [{ prefix: 'AB' }] } },
      '{"device_ID":"AB1234"}',
      true,
    ],
    ['prefix, no match', { value: { device_ID: [{ prefix: 'AB' }] } }, '{"device_ID":"XY1234"}', false],
    ['nested field', { value: { session: { duration: [162] } } }, '{"session":{"duration":162}}', true],
    [
      'numeric range',
      { value: { timestamp: [{ numeric: ['>=', 1000, '<', 2000] }] } },
      '{"timestamp":1500}',
      true,
    ],
    [
      'numeric out of range',
      { value: { timestamp: [{ numeric: ['>=', 1000, '<', 2000] }] } },
      '{"timestamp":2000}',
      false,
    ],
    ['anything-but', { value: { userId: [{ 'anything-but': ['bot'] }] } }, '{"userId":"user_A"}', true],
    [
      'anything-but, excluded',
      { value: { userId: [{ 'anything-but': ['bot'] }] } },
      '{"userId":"bot"}',
      false,
    ],
    ['exists', { value: { userId: [{ exists: true }] } }, '{"userId":"x"}', true],
    ['exists false', { value: { userId: [{ exists: false }] } }, '{"other":1}', true],
    ['plain string value', { value: [{ prefix: 'user_A,' }] }, 'user_A,1000', true],
    ['plain string value, no match', { value: [{ prefix: 'user_A,' }] }, 'user_B,1000', false],
    [
      'equals-ignore-case',
      { value: { userId: [{ 'equals-ignore-case': 'USER_A' }] } },
      '{"userId":"user_a"}',
      true,
    ],
  ])('%s', (_name, pattern, value, expected) => {
    // Act
    const passes = passesFilters(record(value), [pattern]);

    // Assess
    expect(passes).toBe(expected);
  });

  it('passes everything without patterns, and a record matching any one of several', () => {
    // Prepare
    const patterns = parseFilterPatterns([
      '{"value": {"userId": ["user_A"]}}',
      { value: { userId: ['user_B'] } },
    ]);

    // Assess
    expect(passesFilters(record('anything'), [])).toBe(true);
    expect(passesFilters(record('{"userId":"user_B"}'), patterns)).toBe(true);
    expect(passesFilters(record('{"userId":"user_C"}'), patterns)).toBe(false);
    expect(passesFilters(record(null), patterns)).toBe(false);
  });

  it('refuses a pattern that is not an object', () => {
    expect(() => parseFilterPatterns(['[1, 2]'])).toThrow(/filterPatterns\[0\]/);
  });
});
