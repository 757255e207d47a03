import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../lib/config.ts';
import type { KafkaRecord } from '../../../lib/decode/index.ts';
import { ConfigError } from '../../../lib/errors.ts';
import { type ParseOptions, parseRecord } from '../../../lib/parse/index.ts';
import { createWarmState, type PipelineDeps, processPartition } from '../../../lib/pipeline/index.ts';
import { MemorySink, MemoryStore } from '../../helpers/memory-store.ts';
import { MAX_EVENT_TIME_MS, MAX_USER_ID_LENGTH, recordWithValue } from './factories.ts';

// The future-timestamp guard (MAX_FUTURE_MS, off by default): a record whose event time is more than
// MAX_FUTURE_MS ahead of its own Kafka timestamp is rejected with reason `future` instead of moving
// the partition's watermark there for good (Flink accepts it, and every later record is late).

const KAFKA_TIME = 1_732_435_200_000;
const MINUTE = 60_000;

const options = (maxFutureMs: number | undefined): ParseOptions => ({
  eventTimeSource: 'payload',
  maxUserIdLength: MAX_USER_ID_LENGTH,
  maxEventTimeMs: MAX_EVENT_TIME_MS,
  maxFutureMs,
});

const at = (value: string, timestamp = KAFKA_TIME) => recordWithValue(value, { timestamp });

describe('parseRecord with MAX_FUTURE_MS', () => {
  it.each([
    { name: 'the text form', value: `user_A,${KAFKA_TIME + MINUTE + 1}` },
    { name: 'the JSON form', value: `{"userId":"user_A","timestamp":${KAFKA_TIME + MINUTE + 1}}` },
    { name: 'a quoted JSON time', value: `{"userId":"user_A","timestamp":"${KAFKA_TIME + MINUTE + 1}"}` },
    { name: 'year 9999', value: `user_A,${MAX_EVENT_TIME_MS}` },
  ])('rejects $name ahead of the Kafka timestamp by more than the limit, as `future`', ({ value }) => {
    // Act
    const result = parseRecord(at(value), options(MINUTE));

    // Assess
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.rejection).toMatchObject({ reason: 'future', rawValue: value, offset: 42 });
    expect(result.rejection.detail).toMatch(
      /ms ahead of the Kafka record timestamp 1732435200000; at most 60000 ms/,
    );
  });

  it.each([
    { name: 'exactly the limit ahead', time: KAFKA_TIME + MINUTE },
    { name: 'at the Kafka timestamp', time: KAFKA_TIME },
    { name: 'behind it (the usual case)', time: KAFKA_TIME - 86_400_000 },
    { name: 'from 1970', time: 1000 },
  ])('accepts an event time $name', ({ time }) => {
    expect(parseRecord(at(`user_A,${time}`), options(MINUTE))).toMatchObject({
      ok: true,
      event: { userId: 'user_A', eventTime: time },
    });
  });

  it('rejects any event time ahead of the Kafka timestamp when the limit is 0', () => {
    expect(parseRecord(at(`user_A,${KAFKA_TIME + 1}`), options(0))).toMatchObject({
      ok: false,
      rejection: { reason: 'future' },
    });
  });

  it('accepts everything when the guard is off (the default, Flink-exact)', () => {
    expect(parseRecord(at(`user_A,${MAX_EVENT_TIME_MS}`), options(undefined))).toMatchObject({ ok: true });
  });

  it('lets a record without a Kafka timestamp (-1) pass: there is nothing to compare with', () => {
    expect(parseRecord(at(`user_A,${MAX_EVENT_TIME_MS}`, -1), options(MINUTE))).toMatchObject({ ok: true });
  });

  it('never rejects with EVENT_TIME_SOURCE=kafka: the event time is the Kafka timestamp', () => {
    expect(
      parseRecord(at(`user_A,${MAX_EVENT_TIME_MS}`), { ...options(0), eventTimeSource: 'kafka' }),
    ).toMatchObject({ ok: true, event: { eventTime: KAFKA_TIME } });
  });

  it('checks the field format first: a malformed time is still timestamp_not_integer', () => {
    expect(parseRecord(at('user_A,soon'), options(0))).toMatchObject({
      ok: false,
      rejection: { reason: 'timestamp_not_integer' },
    });
  });
});

describe('one far-future record in a partition', () => {
  const records = (): KafkaRecord[] =>
    ['user_A,1000', `user_B,${MAX_EVENT_TIME_MS - 5000}`, 'user_A,2000', 'user_C,3000'].map(
      (value, offset) => ({
        topic: 'user_activity',
        partition: 0,
        offset,
        timestamp: KAFKA_TIME + offset,
        timestampType: 'CREATE_TIME',
        key: null,
        value: Buffer.from(value),
        headers: [],
      }),
    );

  const run = async (maxFutureMs: number | undefined) => {
    const sink = new MemorySink();
    const deps: PipelineDeps = {
      store: new MemoryStore(),
      sink,
      now: () => KAFKA_TIME,
      settings: {
        engine: { gapMs: 5000, outOfOrdernessMs: 0, allowedLatenessMs: 0, idleFlush: false },
        eventTimeSource: 'payload',
        maxFutureMs,
        stateTtlDays: 2,
        journalMax: 32,
      },
      warm: createWarmState(),
    };
    const outcome = await processPartition(deps, {
      topic: 'user_activity',
      partition: 0,
      records: records(),
    });
    return { outcome, rejected: [...sink.rejected.entries()] };
  };

  it('without the guard moves the watermark to year 9999 and makes every later record late (as Flink)', async () => {
    // Act
    const { outcome, rejected } = await run(undefined);

    // Assess
    expect(outcome.watermark).toBe(MAX_EVENT_TIME_MS - 5000 - 1);
    expect(outcome.late).toBe(2);
    expect(rejected.map(([, reason]) => reason)).toEqual(['late', 'late']);
  });

  it('with the guard rejects that record as `future` and counts the others', async () => {
    // Act
    const { outcome, rejected } = await run(MINUTE);

    // Assess
    expect(outcome.watermark).toBe(2999);
    expect(outcome.late).toBe(0);
    expect(outcome.rejected).toEqual({ future: 1 });
    expect(rejected.map(([, reason]) => reason)).toEqual(['future']);
  });
});

describe('MAX_FUTURE_MS in the configuration', () => {
  it('is off unless set', () => {
    expect(loadConfig({}).maxFutureMs).toBeUndefined();
    expect(loadConfig({ MAX_FUTURE_MS: '' }).maxFutureMs).toBeUndefined();
  });

  it('takes a whole number of milliseconds, 0 included', () => {
    expect(loadConfig({ MAX_FUTURE_MS: '60000' }).maxFutureMs).toBe(60_000);
    expect(loadConfig({ MAX_FUTURE_MS: '0' }).maxFutureMs).toBe(0);
  });

  it.each(['-1', '1.5', 'one minute'])('refuses %s and names the setting', (value) => {
    expect(() => loadConfig({ MAX_FUTURE_MS: value })).toThrow(ConfigError);
    expect(() => loadConfig({ MAX_FUTURE_MS: value })).toThrow(/MAX_FUTURE_MS=/);
  });
});
