import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeKafkaEvent, type KafkaRecord } from '../../../lib/decode/index.ts';
import { buildKafkaEvent } from '../../../offline/build-event.ts';
import { kafkaRecord, loadJson } from '../parse/factories.ts';

const ARN =
  'arn:aws:kafka:us-east-1:123456789012:cluster/sessionizer-dev/7f3c2a1e-5b8d-4e6f-9a0b-1c2d3e4f5a6b-2';

/** Through JSON text, as Lambda would deliver it. */
function overTheWire(event: unknown): unknown {
  return JSON.parse(JSON.stringify(event));
}

describe('buildKafkaEvent', () => {
  it('builds the record shape of the AWS example event', () => {
    // Prepare
    const record = kafkaRecord({
      offset: 3,
      key: Buffer.from('user_A'),
      value: Buffer.from('user_A,1000'),
      headers: [{ key: 'source', value: Buffer.from([0x68, 0xc3, 0xa9, 0xff]) }],
    });

    // Act
    const event = buildKafkaEvent({
      eventSource: 'aws:kafka',
      eventSourceArn: ARN,
      bootstrapServers: ['a:9092', 'b:9092'],
      records: [record],
    });

    // Assess
    expect(JSON.stringify(event)).toBe(
      JSON.stringify({
        eventSource: 'aws:kafka',
        eventSourceArn: ARN,
        bootstrapServers: 'a:9092,b:9092',
        records: {
          'user_activity-0': [
            {
              topic: 'user_activity',
              partition: 0,
              offset: 3,
              timestamp: record.timestamp,
              timestampType: 'CREATE_TIME',
              key: 'dXNlcl9B',
              value: 'dXNlcl9BLDEwMDA=',
              headers: [{ source: [104, -61, -87, -1] }],
            },
          ],
        },
      }),
    );
  });

  it.each([
    {
      name: 'a null key: no "key" property',
      overrides: { key: null },
      absent: 'key',
      present: { value: 'dXNlcl9BLDEwMDA=' },
    },
    {
      name: 'a tombstone: no "value" property',
      overrides: { value: null },
      absent: 'value',
      present: { key: 'dXNlcl9B' },
    },
    {
      name: 'an empty key: ""',
      overrides: { key: Buffer.alloc(0) },
      absent: undefined,
      present: { key: '' },
    },
    {
      name: 'an empty value: ""',
      overrides: { value: Buffer.alloc(0) },
      absent: undefined,
      present: { value: '' },
    },
  ])('encodes $name', ({ overrides, absent, present }) => {
    // Prepare
    const record = kafkaRecord(overrides as Partial<KafkaRecord>);

    // Act
    const event = buildKafkaEvent({
      eventSource: 'SelfManagedKafka',
      bootstrapServers: [],
      records: [record],
    });

    // Assess
    const [wire] = event.records['user_activity-0'] ?? [];
    expect(wire).toMatchObject(present);
    if (absent !== undefined) expect(wire).not.toHaveProperty(absent);
  });

  it('writes every header name as an own property, "__proto__" and Object.prototype names included', () => {
    // Prepare
    const names = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', '0', 'source'];
    const record = kafkaRecord({ headers: names.map((key, i) => ({ key, value: Buffer.from([i, 0xff]) })) });

    // Act
    const event = buildKafkaEvent({
      eventSource: 'SelfManagedKafka',
      bootstrapServers: [],
      records: [record],
    });

    // Assess
    const headers = event.records['user_activity-0']?.[0]?.headers ?? [];
    expect(headers.map((h) => Object.getPrototypeOf(h))).toEqual(names.map(() => Object.prototype));
    expect(headers.map((h) => Object.entries(h))).toEqual(names.map((key, i) => [[key, [i, -1]]]));
    expect(JSON.stringify(headers)).toBe(
      JSON.stringify(names.map((key, i) => JSON.parse(`{${JSON.stringify(key)}:[${i},-1]}`))),
    );
    expect(decodeKafkaEvent(overTheWire(event)).batches[0]?.records[0]?.headers).toEqual(record.headers);
  });

  it('groups records under "<topic>-<partition>" in the order given', () => {
    // Prepare
    const records = [
      kafkaRecord({ partition: 1, offset: 5 }),
      kafkaRecord({ partition: 0, offset: 9 }),
      kafkaRecord({ partition: 1, offset: 4 }),
    ];

    // Act
    const event = buildKafkaEvent({
      eventSource: 'aws:kafka',
      eventSourceArn: ARN,
      bootstrapServers: [],
      records,
    });

    // Assess
    expect(Object.keys(event.records)).toEqual(['user_activity-1', 'user_activity-0']);
    expect(event.records['user_activity-1']?.map((r) => r.offset)).toEqual([5, 4]);
  });

  it.each([
    {
      name: 'an MSK event without ARN',
      input: { eventSource: 'aws:kafka' as const },
      message: /needs the MSK cluster ARN/,
    },
    {
      name: 'a self-managed event with an ARN',
      input: { eventSource: 'SelfManagedKafka' as const, eventSourceArn: ARN },
      message: /has no eventSourceArn/,
    },
  ])('refuses $name', ({ input, message }) => {
    // Act
    const act = () => buildKafkaEvent({ ...input, bootstrapServers: [], records: [] });

    // Assess
    expect(act).toThrow(TypeError);
    expect(act).toThrow(message);
  });
});

describe('buildKafkaEvent and decodeKafkaEvent are inverses', () => {
  describe.each([
    { name: 'Amazon MSK', file: 'test/fixtures/msk-event-aws-sample.json' },
    { name: 'self-managed Kafka', file: 'test/fixtures/self-managed-event-aws-sample.json' },
  ])('the AWS $name sample', ({ file }) => {
    it('is rebuilt exactly, but for the sample key, which is not canonical base64', () => {
      // Prepare
      const sample = loadJson(file) as { records: Record<string, Array<{ key: string }>> };
      // The docs' placeholder key "abcDEFghiJKLmnoPQRstuVWXyz1234==" ends in "34==": the last
      // character carries 4 bits that are not data. Decoders drop them; Lambda's own encoder
      // never writes them. Its canonical spelling (same 22 bytes) is "...123w==".
      const expected = structuredClone(sample);
      const [first] = expected.records['mytopic-0'] ?? [];
      if (first === undefined) throw new Error('fixture has no mytopic-0 record');
      expect(Buffer.from(first.key, 'base64')).toEqual(
        Buffer.from('abcDEFghiJKLmnoPQRstuVWXyz123w==', 'base64'),
      );
      first.key = 'abcDEFghiJKLmnoPQRstuVWXyz123w==';

      // Act
      const decoded = decodeKafkaEvent(sample);
      const rebuilt = buildKafkaEvent({ ...decoded, records: decoded.batches.flatMap((b) => b.records) });

      // Assess
      expect(rebuilt).toStrictEqual(expected);
      expect(decodeKafkaEvent(overTheWire(rebuilt))).toEqual(decoded);
    });
  });

  it('rebuilds events/seed-batch.json byte for byte', () => {
    // Prepare
    const seed = loadJson('events/seed-batch.json');

    // Act
    const decoded = decodeKafkaEvent(seed);
    const rebuilt = buildKafkaEvent({ ...decoded, records: decoded.batches.flatMap((b) => b.records) });

    // Assess
    expect(JSON.stringify(rebuilt)).toBe(JSON.stringify(seed));
  });

  it('decode(build(records)) gives back every record, grouped and in offset order (property)', () => {
    const bytes = fc.uint8Array({ maxLength: 24 }).map((a) => Buffer.from(a));
    const record = fc.record({
      topic: fc.constantFrom('user_activity', 'clicks', 'a-1'),
      partition: fc.integer({ min: 0, max: 3 }),
      offset: fc.integer({ min: 0, max: 1_000_000 }),
      timestamp: fc.integer({ min: -1, max: 4_102_444_800_000 }),
      timestampType: fc.constantFrom('CREATE_TIME' as const, 'LOG_APPEND_TIME' as const),
      key: fc.option(bytes, { nil: null }),
      value: fc.option(bytes, { nil: null }),
      headers: fc.array(fc.record({ key: fc.string({ maxLength: 8 }), value: bytes }), { maxLength: 3 }),
    });
    const records = fc.uniqueArray(record, {
      maxLength: 30,
      selector: (r) => `${r.topic}/${r.partition}/${r.offset}`,
    });
    const input = fc.record({
      eventSource: fc.constantFrom('aws:kafka' as const, 'SelfManagedKafka' as const),
      bootstrapServers: fc.array(fc.constantFrom('b-1:9092', 'b-2:9092', '127.0.0.1:9092'), { maxLength: 3 }),
      records,
    });

    fc.assert(
      fc.property(input, ({ eventSource, bootstrapServers, records }) => {
        const eventSourceArn = eventSource === 'aws:kafka' ? ARN : undefined;
        const event = buildKafkaEvent({ eventSource, eventSourceArn, bootstrapServers, records });

        const decoded = decodeKafkaEvent(overTheWire(event));

        expect(decoded.eventSource).toBe(eventSource);
        expect(decoded.eventSourceArn).toBe(eventSourceArn);
        expect(decoded.bootstrapServers).toEqual(bootstrapServers);
        const expected = [...records].sort((a, b) =>
          a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition || a.offset - b.offset,
        );
        expect(decoded.batches.flatMap((b) => b.records)).toEqual(expected);
        for (const batch of decoded.batches) {
          expect(batch.records.every((r) => r.topic === batch.topic && r.partition === batch.partition)).toBe(
            true,
          );
        }
      }),
    );
  });
});
