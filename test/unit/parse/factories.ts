import { readFileSync } from 'node:fs';
import type { KafkaRecord } from '../../../lib/decode/index.ts';

/** The engine's limits (lib/engine): "<userId>|<24-char ISO start>" fits VARCHAR(255); year 9999. */
export const MAX_USER_ID_LENGTH = 230;
export const MAX_EVENT_TIME_MS = 253402300799999;

/** A decoded record on user_activity-0; every field can be overridden. */
export function kafkaRecord(overrides: Partial<KafkaRecord> = {}): KafkaRecord {
  return {
    topic: 'user_activity',
    partition: 0,
    offset: 42,
    timestamp: 1732435200123,
    timestampType: 'CREATE_TIME',
    key: Buffer.from('user_A'),
    value: Buffer.from('user_A,1000'),
    headers: [],
    ...overrides,
  };
}

/** A record whose value is this text (UTF-8), these bytes, or a tombstone (null). */
export function recordWithValue(
  value: string | Uint8Array | null,
  overrides: Partial<KafkaRecord> = {},
): KafkaRecord {
  const bytes =
    value === null ? null : typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
  return kafkaRecord({ ...overrides, value: bytes });
}

/** A fixture file (test/fixtures or events/) parsed from JSON, typed unknown as the handler sees it. */
export function loadJson(pathFromRepoRoot: string): unknown {
  return JSON.parse(readFileSync(new URL(`../../../${pathFromRepoRoot}`, import.meta.url), 'utf8'));
}
