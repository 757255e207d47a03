import { describe, expect, it } from 'vitest';
import {
  asTick,
  decodeKafkaEvent,
  type KafkaRecord,
  TICK_HEADER,
  TICK_HEADER_VALUE,
} from '../../../lib/decode/index.ts';
import { parseRecord } from '../../../lib/parse/index.ts';
import { kafkaRecord, MAX_EVENT_TIME_MS, MAX_USER_ID_LENGTH } from '../parse/factories.ts';

// Issue 17: a Kafka timestamp at its extremes neither fails the event nor stalls the partition.
// A broker accepts any long; Lambda's JSON carries 9223372036854775807, which JSON.parse rounds to
// 2^63. The record is kept; an event goes on without a usable timestamp.

const OPTIONS = {
  eventTimeSource: 'payload',
  maxUserIdLength: MAX_USER_ID_LENGTH,
  maxEventTimeMs: MAX_EVENT_TIME_MS,
} as const;

function decodeWithTimestamp(timestamp: string): KafkaRecord {
  const value = Buffer.from('user_A,1000').toString('base64');
  const event = JSON.parse(
    `{"eventSource": "SelfManagedKafka", "bootstrapServers": "b:9092", "records": {"t-0": [` +
      `{"topic": "t", "partition": 0, "offset": 7, "timestamp": ${timestamp}, "timestampType": "CREATE_TIME", ` +
      `"value": "${value}", "headers": []}]}}`,
  );
  return decodeKafkaEvent(event).batches[0]?.records[0] as KafkaRecord;
}

describe('Kafka timestamps at their extremes', () => {
  it.each([
    { timestamp: '-1', kept: -1 },
    { timestamp: '0', kept: 0 },
    { timestamp: '8640000000000001', kept: 8_640_000_000_000_001 },
    { timestamp: '9000000000000000', kept: 9_000_000_000_000_000 },
    { timestamp: '9223372036854775807', kept: -1 },
  ])('$timestamp: the event is accepted, with timestamp $kept', ({ timestamp, kept }) => {
    // Act
    const record = decodeWithTimestamp(timestamp);
    const parsed = parseRecord(record, OPTIONS);

    // Assess
    expect(record.envelopeFault).toBeUndefined();
    expect(parsed).toEqual({
      ok: true,
      event: { offset: 7, userId: 'user_A', eventTime: 1000, timestamp: kept },
    });
  });

  it('rejects the largest long as an event time taken from the Kafka timestamp', () => {
    // Act
    const parsed = parseRecord(decodeWithTimestamp('9223372036854775807'), {
      ...OPTIONS,
      eventTimeSource: 'kafka',
    });

    // Assess
    expect(parsed).toMatchObject({ ok: false, rejection: { reason: 'timestamp_out_of_range' } });
  });
});

describe('control records', () => {
  const header = { key: TICK_HEADER, value: Buffer.from(TICK_HEADER_VALUE) };

  it('are ticks only with a null value and a sound envelope', () => {
    // Act
    const tick = asTick(kafkaRecord({ value: null, headers: [header] }));
    const withValue = asTick(kafkaRecord({ headers: [header] }));
    const broken = asTick(
      kafkaRecord({ value: null, headers: [header], envelopeFault: 'bad timestampType' }),
    );
    const other = asTick(
      kafkaRecord({ value: null, headers: [{ key: TICK_HEADER, value: Buffer.from('x') }] }),
    );

    // Assess: a record with a value is judged as an event; an unknown control record does nothing.
    expect(tick).toEqual({ offset: 42, tick: true, timestamp: 1732435200123 });
    expect(withValue).toBeUndefined();
    expect(broken).toBeUndefined();
    expect(other).toBeNull();
  });
});
