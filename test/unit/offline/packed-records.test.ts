import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { KafkaRecord } from '../../../lib/decode/index.ts';
import { buildEvent } from '../../../offline/event.ts';
import { packBatch, packedEvent, packRecords, unpackRecords } from '../../../offline/packed-records.ts';

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
