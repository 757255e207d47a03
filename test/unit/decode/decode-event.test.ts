import { describe, expect, it } from 'vitest';
import { decodeKafkaEvent } from '../../../lib/decode/index.ts';
import { EventShapeError } from '../../../lib/errors.ts';
import { loadJson } from '../parse/factories.ts';

/** A wire record on user_activity-0 with a valid value; fields can be overridden or removed (undefined). */
function wireRecord(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    topic: 'user_activity',
    partition: 0,
    offset: 0,
    timestamp: 1732435200123,
    timestampType: 'CREATE_TIME',
    key: Buffer.from('user_A').toString('base64'),
    value: Buffer.from('user_A,1000').toString('base64'),
    headers: [],
    ...overrides,
  };
}

function mskEvent(
  records: Record<string, unknown>,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    eventSource: 'aws:kafka',
    eventSourceArn: 'arn:aws:kafka:us-east-1:123456789012:cluster/sessionizer-dev/7f3c2a1e-2',
    bootstrapServers: '127.0.0.1:9092',
    records,
    ...overrides,
  };
}

const AWS_SAMPLE_BROKERS = [
  'b-2.demo-cluster-1.a1bcde.c1.kafka.us-east-1.amazonaws.com:9092',
  'b-1.demo-cluster-1.a1bcde.c1.kafka.us-east-1.amazonaws.com:9092',
];

describe('decodeKafkaEvent: the AWS documentation samples', () => {
  describe.each([
    {
      name: 'Amazon MSK',
      file: 'test/fixtures/msk-event-aws-sample.json',
      eventSource: 'aws:kafka',
      eventSourceArn:
        'arn:aws:kafka:us-east-1:123456789012:cluster/vpc-2priv-2pub/751d2973-a626-431c-9d4e-d7975eb44dd7-2',
    },
    {
      name: 'self-managed Kafka',
      file: 'test/fixtures/self-managed-event-aws-sample.json',
      eventSource: 'SelfManagedKafka',
      eventSourceArn: undefined,
    },
  ])('$name', ({ file, eventSource, eventSourceArn }) => {
    it('decodes the envelope', () => {
      // Prepare
      const event = loadJson(file);

      // Act
      const decoded = decodeKafkaEvent(event);

      // Assess
      expect(decoded.eventSource).toBe(eventSource);
      expect(decoded.eventSourceArn).toBe(eventSourceArn);
      expect(decoded.bootstrapServers).toEqual(AWS_SAMPLE_BROKERS);
      expect(decoded.batches.map(({ topic, partition }) => ({ topic, partition }))).toEqual([
        { topic: 'mytopic', partition: 0 },
      ]);
    });

    it('decodes the record: coordinates, base64 key and value, header bytes', () => {
      // Prepare
      const event = loadJson(file);

      // Act
      const [record] = decodeKafkaEvent(event).batches[0]?.records ?? [];

      // Assess
      expect(record).toEqual({
        topic: 'mytopic',
        partition: 0,
        offset: 15,
        timestamp: 1545084650987,
        timestampType: 'CREATE_TIME',
        key: Buffer.from('abcDEFghiJKLmnoPQRstuVWXyz1234==', 'base64'),
        value: Buffer.from('Hello, this is a test.'),
        headers: [{ key: 'headerKey', value: Buffer.from('headerValue') }],
      });
      expect(record?.key).toHaveLength(22);
    });
  });

  it('decodes the seed batch in events/ to the scenario records', () => {
    // Prepare
    const event = loadJson('events/seed-batch.json');

    // Act
    const decoded = decodeKafkaEvent(event);

    // Assess
    expect(decoded.bootstrapServers).toEqual(['127.0.0.1:9092']);
    expect(decoded.eventSourceArn).toMatch(
      /^arn:aws:kafka:us-east-1:123456789012:cluster\/sessionizer-dev\//,
    );
    const [batch] = decoded.batches;
    expect(batch?.topic).toBe('user_activity_sample');
    expect(batch?.records.map((r) => [r.offset, r.key?.toString(), r.value?.toString()])).toEqual([
      [0, 'user_A', 'user_A,1000'],
      [1, 'user_A', 'user_A,2000'],
      [2, 'user_A', 'user_A,8000'],
    ]);
  });
});

describe('decodeKafkaEvent: keys, values and headers', () => {
  it('turns Java signed header bytes into Buffer bytes, negative ones included', () => {
    // Prepare
    const event = mskEvent({
      'user_activity-0': [
        wireRecord({ headers: [{ trace: [-1, -128, 0, 127, -61, -87] }, { trace: [255] }] }),
      ],
    });

    // Act
    const [record] = decodeKafkaEvent(event).batches[0]?.records ?? [];

    // Assess
    expect(record?.headers).toEqual([
      { key: 'trace', value: Buffer.from([0xff, 0x80, 0x00, 0x7f, 0xc3, 0xa9]) },
      { key: 'trace', value: Buffer.from([0xff]) },
    ]);
  });

  it.each([
    { name: 'key absent (no key)', field: 'key', wire: undefined, decoded: null },
    { name: 'key null', field: 'key', wire: null, decoded: null },
    { name: 'key empty', field: 'key', wire: '', decoded: Buffer.alloc(0) },
    { name: 'value absent (tombstone)', field: 'value', wire: undefined, decoded: null },
    { name: 'value null (tombstone)', field: 'value', wire: null, decoded: null },
    { name: 'value empty', field: 'value', wire: '', decoded: Buffer.alloc(0) },
  ])('decodes $name', ({ field, wire, decoded }) => {
    // Prepare
    const record = wireRecord();
    if (wire === undefined) delete record[field];
    else record[field] = wire;

    // Act
    const [result] = decodeKafkaEvent(mskEvent({ 'user_activity-0': [record] })).batches[0]?.records ?? [];

    // Assess
    expect(result?.[field as 'key' | 'value']).toEqual(decoded);
  });

  it('never throws for bad payloads: they are records like any other', () => {
    // Prepare
    const values = [Buffer.from([0xff, 0xfe]), Buffer.from('no comma'), Buffer.from('{"broken":')];
    const event = mskEvent({
      'user_activity-0': values.map((value, offset) =>
        wireRecord({ offset, value: value.toString('base64') }),
      ),
    });

    // Act
    const [batch] = decodeKafkaEvent(event).batches;

    // Assess
    expect(batch?.records.map((r) => r.value)).toEqual(values);
  });

  it.each([
    { name: 'missing', bootstrapServers: undefined, expected: [] },
    { name: 'one broker', bootstrapServers: 'localhost:9092', expected: ['localhost:9092'] },
    { name: 'padded list', bootstrapServers: ' a:9092 , b:9092,', expected: ['a:9092', 'b:9092'] },
  ])('splits bootstrapServers: $name', ({ bootstrapServers, expected }) => {
    // Prepare
    const event = mskEvent({}, { bootstrapServers });

    // Act
    const decoded = decodeKafkaEvent(event);

    // Assess
    expect(decoded.bootstrapServers).toEqual(expected);
    expect(decoded.batches).toEqual([]);
  });
});

describe('decodeKafkaEvent: grouping and order', () => {
  it('sorts records by offset within each partition', () => {
    // Prepare
    const event = mskEvent({ 'user_activity-0': [5, 3, 4, 1].map((offset) => wireRecord({ offset })) });

    // Act
    const [batch] = decodeKafkaEvent(event).batches;

    // Assess
    expect(batch?.records.map((r) => r.offset)).toEqual([1, 3, 4, 5]);
  });

  it('keeps the first of two records with the same offset', () => {
    // Prepare
    const first = Buffer.from('user_A,1000').toString('base64');
    const second = Buffer.from('user_B,2000').toString('base64');
    const event = mskEvent({
      'user_activity-0': [
        wireRecord({ offset: 7, value: first }),
        wireRecord({ offset: 6 }),
        wireRecord({ offset: 7, value: second }),
      ],
    });

    // Act
    const [batch] = decodeKafkaEvent(event).batches;

    // Assess
    expect(batch?.records.map((r) => [r.offset, r.value?.toString()])).toEqual([
      [6, 'user_A,1000'],
      [7, 'user_A,1000'],
    ]);
  });

  it('groups by the records own topic and partition, ordered by topic then partition', () => {
    // Prepare
    const event = mskEvent({
      'user_activity-10': [wireRecord({ partition: 10, offset: 3 })],
      'user_activity-2': [wireRecord({ partition: 2, offset: 9 }), wireRecord({ partition: 2, offset: 8 })],
      'clicks-0': [wireRecord({ topic: 'clicks', offset: 1 })],
      // Misfiled under another label: the record's fields win.
      'other-label': [wireRecord({ partition: 2, offset: 7 })],
    });

    // Act
    const { batches } = decodeKafkaEvent(event);

    // Assess
    expect(batches.map((b) => [b.topic, b.partition, b.records.map((r) => r.offset)])).toEqual([
      ['clicks', 0, [1]],
      ['user_activity', 2, [7, 8, 9]],
      ['user_activity', 10, [3]],
    ]);
  });
});

describe('decodeKafkaEvent: envelope errors', () => {
  it.each([
    {
      name: 'null',
      event: null,
      message: /Expected an Amazon MSK or self-managed Kafka event object, got null/,
    },
    { name: 'an array', event: [], message: /got an array/ },
    {
      name: 'an SQS event',
      event: { Records: [{ eventSource: 'aws:sqs' }] },
      message: /eventSource is missing/,
    },
    {
      name: 'a Kinesis-like source',
      event: mskEvent({}, { eventSource: 'aws:kinesis' }),
      message: /"aws:kinesis"/,
    },
    {
      name: 'the old "aws:SelfManagedKafka" spelling',
      event: mskEvent({}, { eventSource: 'aws:SelfManagedKafka' }),
      message: /expected "aws:kafka" or "SelfManagedKafka"/,
    },
    {
      name: 'MSK without an ARN',
      event: mskEvent({}, { eventSourceArn: undefined }),
      message: /no eventSourceArn/,
    },
    {
      name: 'bootstrapServers as an array',
      event: mskEvent({}, { bootstrapServers: ['a:9092'] }),
      message: /bootstrapServers is an array/,
    },
    { name: 'records missing', event: mskEvent({}, { records: undefined }), message: /"records" is missing/ },
    { name: 'records as an array', event: mskEvent({}, { records: [] }), message: /"records" is an array/ },
    {
      name: 'a group that is not an array',
      event: mskEvent({ 'user_activity-0': {} }),
      message: /records\["user_activity-0"\] is an object/,
    },
  ])('rejects $name', ({ event, message }) => {
    // Act
    const act = () => decodeKafkaEvent(event);

    // Assess
    expect(act).toThrow(EventShapeError);
    expect(act).toThrow(message);
  });

  it.each([
    {
      name: 'a record that is not an object',
      record: 'user_A,1000',
      message: /\[1\] is "user_A,1000", expected a record object/,
    },
    { name: 'no topic', record: wireRecord({ topic: undefined }), message: /has no topic \(got missing\)/ },
    { name: 'an empty topic', record: wireRecord({ topic: '' }), message: /has no topic/ },
    {
      name: 'no partition',
      record: wireRecord({ partition: undefined }),
      message: /has no valid partition \(got missing\)/,
    },
    {
      name: 'a string partition',
      record: wireRecord({ partition: '0' }),
      message: /has no valid partition \(got "0"\)/,
    },
    { name: 'no offset', record: wireRecord({ offset: undefined }), message: /has no valid offset/ },
    {
      name: 'a negative offset',
      record: wireRecord({ offset: -1 }),
      message: /has no valid offset \(got -1\)/,
    },
    { name: 'a fractional offset', record: wireRecord({ offset: 1.5 }), message: /has no valid offset/ },
  ])('rejects a record with $name, naming where it is', ({ record, message }) => {
    // Prepare
    const event = mskEvent({ 'user_activity-0': [wireRecord(), record] });

    // Act
    const act = () => decodeKafkaEvent(event);

    // Assess
    expect(act).toThrow(EventShapeError);
    expect(act).toThrow(/^Kafka event records\["user_activity-0"\]\[1\]/);
    expect(act).toThrow(message);
  });

  it.each([
    {
      name: 'no timestamp',
      record: wireRecord({ timestamp: undefined }),
      message: /timestamp is missing, expected epoch milliseconds/,
    },
    {
      name: 'an unknown timestampType',
      record: wireRecord({ timestampType: 'NO_TIMESTAMP_TYPE' }),
      message: /timestampType is "NO_TIMESTAMP_TYPE"/,
    },
    {
      name: 'a numeric value',
      record: wireRecord({ value: 42 }),
      message: /: value is 42, expected base64 text/,
    },
    {
      name: 'headers as an object',
      record: wireRecord({ headers: { a: [1] } }),
      message: /: headers is an object, expected an array/,
    },
    {
      name: 'a header that is not an object',
      record: wireRecord({ headers: ['a'] }),
      message: /: headers\[0\] is "a"/,
    },
    {
      name: 'a header value that is text',
      record: wireRecord({ headers: [{ a: 'aGk=' }] }),
      message: /\["a"\] is "aGk=", expected an array of bytes/,
    },
    {
      name: 'a header byte out of range',
      record: wireRecord({ headers: [{ a: [1, 300] }] }),
      message: /\["a"\]\[1\] is 300, expected a byte/,
    },
    {
      name: 'a fractional header byte',
      record: wireRecord({ headers: [{ a: [0.5] }] }),
      message: /is 0.5, expected a byte/,
    },
    {
      name: 'a value that is not base64',
      record: wireRecord({ value: 'not base64!' }),
      message: /value is not base64/,
    },
    { name: 'padding inside a value', record: wireRecord({ value: 'YQ=h' }), message: /value is not base64/ },
    {
      name: 'three padding characters',
      record: wireRecord({ value: 'Y===' }),
      message: /value is not base64/,
    },
    { name: 'url-safe base64 in a key', record: wireRecord({ key: 'a-_b' }), message: /key is not base64/ },
    { name: 'a value cut short', record: wireRecord({ value: 'YWJjYQ=' }), message: /value is not base64/ },
  ])('keeps a record with $name as one bad_envelope record, naming where it is', ({ record, message }) => {
    // Prepare
    const event = mskEvent({
      'user_activity-0': [wireRecord(), { ...record, offset: 1 }, wireRecord({ offset: 2 })],
    });

    // Act
    const decoded = decodeKafkaEvent(event);

    // Assess: the event decodes; only that record carries the fault.
    const records = decoded.batches[0]?.records ?? [];
    expect(records.map((r) => r.offset)).toEqual([0, 1, 2]);
    expect(records[0]?.envelopeFault).toBeUndefined();
    expect(records[1]?.envelopeFault).toMatch(/^Kafka event records\["user_activity-0"\]\[1\]: /);
    expect(records[1]?.envelopeFault).toMatch(message);
    expect(records[2]?.envelopeFault).toBeUndefined();
  });

  it('names every fault of a record in one envelopeFault, in field order, with the exact text', () => {
    // Prepare
    const bad = wireRecord({
      offset: 1,
      timestamp: 1.5,
      timestampType: 'X',
      key: 'a',
      value: 7,
      headers: [{ a: [1] }, { b: [2], c: [3, -129] }],
    });
    const event = mskEvent({ 'user_activity-0': [wireRecord(), bad] });

    // Act
    const records = decodeKafkaEvent(event).batches[0]?.records ?? [];

    // Assess
    expect(records[1]?.envelopeFault).toBe(
      'Kafka event records["user_activity-0"][1]: timestamp is 1.5, expected epoch milliseconds; ' +
        'timestampType is "X", expected "CREATE_TIME" or "LOG_APPEND_TIME"; key is not base64; ' +
        'value is 7, expected base64 text; headers[1]["c"][1] is -129, expected a byte (-128..127)',
    );
    expect(records[1]).toMatchObject({ timestamp: -1, timestampType: 'CREATE_TIME', key: null, value: null });
    expect(records[1]?.headers).toEqual([]);
  });

  it('groups records by their own topic and partition, whatever label they are filed under', () => {
    // Prepare: one label holding two partitions, interleaved, and a second label for one of them.
    const event = mskEvent({
      'user_activity-0': [
        wireRecord({ offset: 1 }),
        wireRecord({ partition: 1, offset: 5 }),
        wireRecord({ offset: 2 }),
        wireRecord({ partition: 1, offset: 6 }),
      ],
      'user_activity-1': [wireRecord({ partition: 1, offset: 7 }), wireRecord({ topic: 'a', offset: 3 })],
    });

    // Act
    const { batches } = decodeKafkaEvent(event);

    // Assess
    expect(batches.map((b) => [b.topic, b.partition, b.records.map((r) => r.offset)])).toEqual([
      ['a', 0, [3]],
      ['user_activity', 0, [1, 2]],
      ['user_activity', 1, [5, 6, 7]],
    ]);
  });

  it('marks envelope errors as not retryable', () => {
    // Act
    const error = (() => {
      try {
        decodeKafkaEvent({ eventSource: 'aws:kafka' });
      } catch (caught) {
        return caught;
      }
    })();

    // Assess
    expect(error).toBeInstanceOf(EventShapeError);
    expect(error).toMatchObject({ code: 'EVENT_INVALID', retryable: false });
  });
});
