import fc from 'fast-check';
import type { KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import type { KafkaRecord } from '../../../lib/decode/index.ts';
import { chunkBySize } from '../../../lib/shared/index.ts';
import { approximateRecordBytes, buildEvent, toKafkaRecord } from '../../../offline/event.ts';
import {
  type BatchLimits,
  packBatch,
  packedEvent,
  packMessages,
  packRecords,
  unpackRecords,
} from '../../../offline/packed-records.ts';

const bytes = fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a));
const record = (offset: number) =>
  fc.record({
    topic: fc.constant('user_activity'),
    partition: fc.constant(2),
    offset: fc.constant(offset),
    timestamp: fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 2 ** 52 })),
    timestampType: fc.constantFrom('CREATE_TIME' as const, 'LOG_APPEND_TIME' as const),
    key: fc.option(bytes, { nil: null }),
    value: fc.option(bytes, { nil: null }),
    headers: fc.array(fc.record({ key: fc.string({ maxLength: 12 }), value: bytes }), { maxLength: 3 }),
  });
const batch = fc
  .integer({ min: 1, max: 20 })
  .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => record(1000 + i))));

const MSK = { eventSource: 'aws:kafka', eventSourceArn: 'arn:aws:kafka:us-east-1:1:cluster/c/1' } as const;
const SELF_MANAGED = { eventSource: 'SelfManagedKafka', eventSourceArn: undefined } as const;

describe("a batch packed: the trigger's lanes, and the bench's hand-over to the handler's thread", () => {
  it('gives back the records, and so the same event the trigger builds', () => {
    fc.assert(
      fc.property(batch, fc.constantFrom(MSK, SELF_MANAGED), (records: KafkaRecord[], source) => {
        // Act
        const packed = packRecords(records);
        const unpacked = unpackRecords(structuredClone(packed));
        const event = packedEvent(structuredClone(packed), source, ['127.0.0.1:9092']);

        // Assess
        const built = buildEvent(source, ['127.0.0.1:9092'], records);
        expect(unpacked).toEqual(records);
        expect(buildEvent(source, ['127.0.0.1:9092'], unpacked)).toEqual(built);
        // The same JSON, properties in the same order, as the handler receives it.
        expect(JSON.stringify(event)).toBe(JSON.stringify(built));
        // What a lane of the trigger reads without unpacking.
        const lane = packBatch(records);
        expect({ ...lane, bytes: unpackRecords(lane.bytes) }).toEqual({
          topic: 'user_activity',
          partition: 2,
          count: records.length,
          firstOffset: 1000,
          lastOffset: 999 + records.length,
          eventBytes: records.reduce((sum, r) => sum + eventBytesOf(r), 0),
          bytes: records,
        });
      }),
    );
  });

  it('refuses a batch of two partitions and an empty one', () => {
    // Arrange
    const one: KafkaRecord = {
      topic: 't',
      partition: 0,
      offset: 0,
      timestamp: 1,
      timestampType: 'CREATE_TIME',
      key: null,
      value: Buffer.from('a,1'),
      headers: [],
    };

    // Act, Assess
    expect(() => packRecords([one, { ...one, partition: 1, offset: 1 }])).toThrow(/one partition per batch/);
    expect(() => packRecords([])).toThrow(/empty batch/);
    expect(() => packBatch([])).toThrow(/empty batch/);
  });
});

const eventBytesOf = (r: KafkaRecord) => approximateRecordBytes(r.topic, r.key, r.value, r.headers);

/** kafkajs's message as its consumer hands it: offset and timestamp as text, headers folded by key. */
const kafkajsMessage = (offset: number) =>
  fc.record({
    key: fc.option(bytes, { nil: null }),
    value: fc.option(bytes, { nil: null }),
    timestamp: fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 2 ** 52 })).map(String),
    attributes: fc.constantFrom(0, 0x08),
    offset: fc.constant(String(offset)),
    headers: fc.dictionary(
      fc.string({ maxLength: 6 }),
      fc.oneof(bytes, fc.string({ maxLength: 6 }), fc.array(bytes, { minLength: 1, maxLength: 2 })),
      { maxKeys: 2 },
    ),
  }) as fc.Arbitrary<KafkaMessage>;
const messages = (from: number, max: number) =>
  fc
    .integer({ min: 0, max })
    .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => kafkajsMessage(from + i))));

describe("a fetch's messages packed straight into a lane's batches", () => {
  const unpacked = (batches: readonly { bytes: ArrayBuffer }[]) => batches.map((b) => unpackRecords(b.bytes));
  const limitsOf = fc.record({
    batchSize: fc.integer({ min: 1, max: 6 }),
    maxEventBytes: fc.integer({ min: 150, max: 1200 }),
  }) as fc.Arbitrary<BatchLimits>;

  it('gives the batches of packing toKafkaRecord of each message, cut by count and event size', () => {
    fc.assert(
      fc.property(messages(500, 15), limitsOf, (ms: KafkaMessage[], limits) => {
        // Act
        const batches = packMessages('user_activity', 2, ms, limits);

        // Assess: the reference, records cut by chunkBySize and packed one batch at a time.
        const records = ms.map((m) => toKafkaRecord('user_activity', 2, m));
        const expected = chunkBySize(records, limits.batchSize, limits.maxEventBytes, eventBytesOf);
        expect(unpacked(batches)).toEqual(expected);
        expect(batches).toEqual(expected.map((chunk) => packBatch(chunk)));
      }),
    );
  });

  it("continues the lane's waiting batch while it has room, as if the two runs were one", () => {
    fc.assert(
      fc.property(
        messages(10, 6),
        messages(30, 12),
        limitsOf,
        (before: KafkaMessage[], ms: KafkaMessage[], limits) => {
          const tail = packMessages('user_activity', 2, before, limits).at(-1);

          // Act
          const batches = packMessages('user_activity', 2, ms, limits, tail);

          // Assess
          const tailRecords = tail === undefined ? [] : unpackRecords(tail.bytes);
          const records = [...tailRecords, ...ms.map((m) => toKafkaRecord('user_activity', 2, m))];
          const expected = chunkBySize(records, limits.batchSize, limits.maxEventBytes, eventBytesOf);
          expect(unpacked(batches)).toEqual(expected);
          expect(batches).toEqual(expected.map((chunk) => packBatch(chunk)));
          // A full tail comes back as it was, the same batch.
          if (tail !== undefined && batches[0]?.count === tail.count) expect(batches[0]).toBe(tail);
        },
      ),
    );
  });

  it('cuts by batch size and by the payload limit, a record over it alone', () => {
    // Prepare
    const ms = Array.from(
      { length: 5 },
      (_, i) =>
        ({
          key: null,
          value: Buffer.from('v'.repeat(i === 4 ? 5000 : 1000)),
          timestamp: '1',
          attributes: 0,
          offset: String(i),
          headers: {},
        }) as KafkaMessage,
    );

    // Act, Assess: each record adds 200 + 1 + 1,334 bytes to the event (5000: 6,668).
    const counts = (limits: BatchLimits) => packMessages('t', 0, ms, limits).map((b) => b.count);
    expect(counts({ batchSize: 2, maxEventBytes: 6 * 1024 * 1024 })).toEqual([2, 2, 1]);
    expect(counts({ batchSize: 100, maxEventBytes: 3200 })).toEqual([2, 2, 1]);
    expect(counts({ batchSize: 100, maxEventBytes: 6000 })).toEqual([3, 1, 1]);
  });

  it('refuses a tail of another partition', () => {
    const tail = packMessages(
      't',
      0,
      [{ key: null, value: null, timestamp: '1', attributes: 0, offset: '0', headers: {} } as KafkaMessage],
      { batchSize: 5, maxEventBytes: 9999 },
    )[0];
    expect(() => packMessages('t', 1, [], { batchSize: 5, maxEventBytes: 9999 }, tail)).toThrow(
      /one partition per batch/,
    );
  });
});
