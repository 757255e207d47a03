import fc from 'fast-check';
import protobuf from 'protobufjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TICK_HEADER, TICK_HEADER_VALUE } from '../../lib/decode/index.ts';
import { loadValueSchema, SchemaValueDecoder } from '../../lib/parse/index.ts';
import { handleKafkaEvent, type PipelineDeps } from '../../lib/pipeline/index.ts';
import { encodeEvent, frame, SAMPLE } from '../../scripts/payloads.ts';
import { createTestPipeline, mskEvent, tickRecord } from '../helpers/pipeline.ts';

// Issue 17, "no record can stall a partition": every envelope field at its extremes is processed
// or diverted with a reason, and a write PostgreSQL refuses deterministically is not retried
// forever: the record behind it is found, diverted as `unwritable`, and the rest is written.

const TOPIC = 'user_activity';

describe('records PostgreSQL refuses', () => {
  let p: Awaited<ReturnType<typeof createTestPipeline>>;
  beforeEach(async () => {
    p = await createTestPipeline();
  });
  afterEach(async () => p.cleanup());

  const rejected = async () =>
    (
      await p.pool.query(
        `SELECT kafka_offset::int AS offset, reason, raw_encoding AS encoding, raw_value AS value
           FROM rejected_events ORDER BY kafka_offset`,
      )
    ).rows;

  it('diverts the event whose session row is refused, and writes the others', async () => {
    // Prepare: a rule of the database the job does not know, refusing one user's sessions.
    await p.pool.query("ALTER TABLE user_sessions ADD CONSTRAINT no_poison CHECK (user_id <> 'user_P')");

    // Act: user_A,8000 fires all three sessions in the batch user_P,1500 arrives in.
    const [outcome] = await handleKafkaEvent(
      p.deps,
      mskEvent(['user_A,1000', 'user_P,1500', 'user_B,2000', 'user_A,8000']),
    );

    // Assess: user_P,1500 (not user_A,8000, which made its session fire) is the one diverted.
    expect(outcome).toMatchObject({ diverted: 1, emitted: 2, commits: 1 });
    expect((await p.rows()).map((r) => [r.group_key, r.count])).toEqual([
      ['user_A|1970-01-01T00:00:01.000Z', 1],
      ['user_B|1970-01-01T00:00:02.000Z', 1],
    ]);
    expect(await rejected()).toEqual([
      {
        offset: 1,
        reason: 'unwritable',
        encoding: 'base64',
        value: Buffer.from('user_P,1500').toString('base64'),
      },
    ]);
  });

  it('diverts a rejection PostgreSQL refuses as unwritable, and stores it bare when that is refused too', async () => {
    // Prepare: rejections of offset 1 are refused unless they keep nothing of the record's value.
    await p.pool.query(
      "ALTER TABLE rejected_events ADD CONSTRAINT no_value CHECK (kafka_offset <> 1 OR raw_value = '')",
    );

    // Act
    const [outcome] = await handleKafkaEvent(p.deps, mskEvent(['user_A,1000', 'garbage', 'user_A,2000']));

    // Assess
    expect(outcome).toMatchObject({ diverted: 1, commits: 1 });
    expect(await rejected()).toEqual([{ offset: 1, reason: 'unwritable', encoding: 'base64', value: '' }]);
    expect((await handleKafkaEvent(p.deps, mskEvent([tickRecord(3, 0)], 3)))[0]).toMatchObject({
      emitted: 1,
    });
    expect((await p.rows()).map((r) => [r.group_key, r.count])).toEqual([
      ['user_A|1970-01-01T00:00:01.000Z', 2],
    ]);
  });

  it('refuses loudly, without retrying forever, when the refused data is already in the committed state', async () => {
    // Prepare: user_P's session is committed without a row (nothing fired it yet)...
    await handleKafkaEvent(p.deps, mskEvent(['user_P,1500']));
    await p.pool.query("ALTER TABLE user_sessions ADD CONSTRAINT no_poison CHECK (user_id <> 'user_P')");

    // Act: ...and this batch fires it: no record of this batch is to blame.
    const failed = handleKafkaEvent(p.deps, mskEvent(['user_A,9000'], 1));

    // Assess
    await expect(failed).rejects.toMatchObject({ code: 'SINK_DATA', retryable: false });
    await expect(failed).rejects.toThrow(/not retryable/);
    expect(await rejected()).toEqual([]);
  });
});

/**
 * One record as Lambda's JSON would carry it, written as JSON text so that a long like
 * 9223372036854775807 goes through JSON.parse as it does in the handler.
 */
interface WireRecord {
  readonly timestamp: string;
  readonly timestampType: string;
  readonly key: Buffer | null | 'absent';
  readonly value: Buffer | null | 'absent';
  readonly headers: string;
}

const bytes = (text: string) => Buffer.from(text, 'utf8');

const wireRecordArb: fc.Arbitrary<WireRecord> = fc.record({
  timestamp: fc.oneof(
    fc.constantFrom('-1', '0', '8640000000000001', '9000000000000000', '9223372036854775807', '-5'),
    fc.integer({ min: 0, max: 2_000_000_000_000 }).map(String),
  ),
  timestampType: fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom('CREATE_TIME', 'LOG_APPEND_TIME') },
    { weight: 1, arbitrary: fc.constant('NO_TIMESTAMP_TYPE') },
  ),
  key: fc.oneof(
    fc.constantFrom<'absent' | null>('absent', null),
    fc.constant(bytes('user_1')),
    fc.constant(Buffer.alloc(10_000, 0xc3)),
    fc.uint8Array({ maxLength: 20 }).map((a) => Buffer.from(a)),
  ),
  value: fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 0, max: 60_000 }).map((t) => bytes(`user_${t % 7},${t}`)) },
    { weight: 1, arbitrary: fc.constantFrom<'absent' | null>('absent', null) },
    { weight: 1, arbitrary: fc.constant(Buffer.alloc(0)) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 30 }).map((a) => Buffer.from(a)) },
    { weight: 1, arbitrary: fc.constantFrom(bytes('garbage'), bytes('{"userId":"x"}'), bytes('a,1\u00002')) },
    { weight: 1, arbitrary: fc.constant(Buffer.alloc(1_000_000, 0x61)) },
  ),
  headers: fc.constantFrom(
    '[]',
    `[{"${TICK_HEADER}": ${JSON.stringify([...bytes(TICK_HEADER_VALUE)])}}]`,
    '[{"k": [-1, -128, 127, 0]}]',
    `[{"${'h'.repeat(5000)}": [${Array(5000).fill(-61).join(',')}]}]`,
    '[{"bad": "not bytes"}]',
  ),
});

function wireEvent(partition: number, records: readonly WireRecord[]): unknown {
  // Users of their own per partition: group_key does not name the partition.
  const own = (value: Buffer) =>
    value.subarray(0, 5).toString() === 'user_' ? Buffer.concat([bytes(`p${partition}_`), value]) : value;
  const text = (field: Buffer | null | 'absent', name: string) =>
    field === 'absent'
      ? ''
      : `"${name}": ${field === null ? 'null' : `"${(name === 'value' ? own(field) : field).toString('base64')}"`}, `;
  const list = records.map(
    (r, offset) =>
      `{"topic": "${TOPIC}", "partition": ${partition}, "offset": ${offset}, "timestamp": ${r.timestamp}, ` +
      `"timestampType": "${r.timestampType}", ${text(r.key, 'key')}${text(r.value, 'value')}"headers": ${r.headers}}`,
  );
  return JSON.parse(
    `{"eventSource": "SelfManagedKafka", "bootstrapServers": "127.0.0.1:9092", ` +
      `"records": {"${TOPIC}-${partition}": [${list.join(', ')}]}}`,
  );
}

describe('envelope fields at their extremes (property, through the real sink)', () => {
  let p: Awaited<ReturnType<typeof createTestPipeline>>;
  beforeEach(async () => {
    p = await createTestPipeline();
  });
  afterEach(async () => p.cleanup());

  it('are counted or rejected with a reason, and the partition always moves on', async () => {
    let partition = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(wireRecordArb, { minLength: 1, maxLength: 8 }), async (records) => {
        // Prepare: each run on a partition of its own.
        partition++;
        const isControl = (r: WireRecord) =>
          r.headers.includes(TICK_HEADER) &&
          (r.value === null || r.value === 'absent') &&
          r.timestampType !== 'NO_TIMESTAMP_TYPE';

        // Act: the batch, then an idle tick so that every session has its row.
        const [outcome] = await handleKafkaEvent(p.deps, wireEvent(partition, records));
        await handleKafkaEvent(
          p.deps,
          mskEvent([tickRecord(records.length, 0, partition)], records.length, partition),
        );

        // Assess: every offset applied; every record not a control record counted or rejected.
        expect(outcome).toMatchObject({ records: records.length, commits: 1 });
        const counted = await p.pool.query(
          'SELECT coalesce(sum(event_count), 0)::int AS n FROM user_sessions WHERE kafka_partition = $1',
          [partition],
        );
        const rejectedRows = await p.pool.query(
          `SELECT kafka_offset::int AS offset, reason, kafka_timestamp_ms::text AS ms,
                  kafka_timestamp IS NOT NULL AS has_timestamp
             FROM rejected_events WHERE kafka_partition = $1`,
          [partition],
        );
        for (const row of rejectedRows.rows) {
          const sent = (records[row.offset] as WireRecord).timestamp;
          expect(row.reason).toMatch(/^[a-z0-9_]+$/);
          // The timestamp as the broker gave it, where it is exact (not 2^63 - 1, which JSON rounds).
          if (row.reason !== 'bad_envelope' && Number.isSafeInteger(Number(sent))) {
            expect(row.ms).toBe(sent);
            expect(row.has_timestamp).toBe(Number(sent) >= 0);
          }
        }
        expect(counted.rows[0].n + rejectedRows.rows.length).toBe(
          records.filter((r) => !isControl(r)).length,
        );
      }),
      { numRuns: 25 },
    );
  }, 240_000);
});

describe('schema-format records that cannot be counted (issue 20)', () => {
  let p: Awaited<ReturnType<typeof createTestPipeline>>;
  beforeEach(async () => {
    p = await createTestPipeline({
      fields: { userIdField: SAMPLE.userIdField, eventTimeField: SAMPLE.eventTimeField, eventTimeUnit: 'ms' },
    });
  });
  afterEach(async () => p.cleanup());

  it.each([
    { format: 'avro', schemaFile: SAMPLE.avroFile, schemaMessage: undefined },
    { format: 'protobuf', schemaFile: SAMPLE.protobufFile, schemaMessage: SAMPLE.protobufMessage },
  ] as const)('are one rejection each in $format, and the partition moves on', async (settings) => {
    // Prepare: the seed events, and one record of each new kind between them.
    const deps: PipelineDeps = {
      ...p.deps,
      values: new SchemaValueDecoder(
        loadValueSchema({
          ...settings,
          schemaIds: [String(SAMPLE.confluentSchemaId), SAMPLE.glueSchemaVersionId],
        }),
      ),
    };
    const good = (t: number) => encodeEvent(settings.format, 'user_A', t);
    const values = [
      good(1000),
      encodeEvent(settings.format, 'user_A', 1500, { registry: 'confluent', schemaId: '99' }), // unknown schema id
      frame('confluent', '1', Buffer.from('not a record of the schema')), // bytes that do not match
      Buffer.from('user_A,1500'), // no header at all
      good(2000),
      good(8000),
    ];

    // Act
    const [outcome] = await handleKafkaEvent(deps, mskEvent(values));
    const [tick] = await handleKafkaEvent(deps, mskEvent([tickRecord(values.length, 0)], values.length));

    // Assess: three rejections with their reasons, the seed's two rows, every offset applied.
    expect(outcome).toMatchObject({ records: 6, commits: 1, emitted: 1 });
    expect(tick).toMatchObject({ ticks: 1, emitted: 1 });
    expect(await p.rejected()).toEqual([
      { partition: 0, offset: 1, reason: 'unknown_schema_id' },
      { partition: 0, offset: 2, reason: 'schema_mismatch' },
      { partition: 0, offset: 3, reason: 'schema_mismatch' },
    ]);
    expect(await p.rows()).toEqual([
      { group_key: 'user_A|1970-01-01T00:00:01.000Z', count: 2, end: '1970-01-01 00:00:07.000' },
      { group_key: 'user_A|1970-01-01T00:00:08.000Z', count: 1, end: '1970-01-01 00:00:13.000' },
    ]);
  });

  it('rejects a field path that is missing or of the wrong type in a decoded record, naming the path', async () => {
    // Prepare: the Protobuf sample read with the event time at "user", which holds an object; and a
    // record whose user proto3 leaves out.
    const deps: PipelineDeps = {
      ...p.deps,
      settings: {
        ...p.deps.settings,
        fields: { userIdField: 'user.id', eventTimeField: 'user', eventTimeUnit: 'ms' },
      },
      values: new SchemaValueDecoder(
        loadValueSchema({
          format: 'protobuf',
          schemaFile: SAMPLE.protobufFile,
          schemaMessage: SAMPLE.protobufMessage,
          schemaIds: [SAMPLE.glueSchemaVersionId],
        }),
      ),
    };
    const root = new protobuf.Root().loadSync(SAMPLE.protobufFile, { keepCase: true });
    const noUser = Buffer.from(root.lookupType(SAMPLE.protobufMessage).encode({ event_time: 1000 }).finish());
    const values = [
      encodeEvent('protobuf', 'user_A', 1000),
      frame('glue', SAMPLE.glueSchemaVersionId, Buffer.concat([Buffer.from([1]), noUser])),
    ];

    // Act
    const [outcome] = await handleKafkaEvent(deps, mskEvent(values));
    const details = await p.pool.query(
      'SELECT kafka_offset::int AS offset, reason, detail, raw_encoding FROM rejected_events ORDER BY 1',
    );

    // Assess
    expect(outcome).toMatchObject({ records: 2, commits: 1 });
    expect(details.rows).toEqual([
      {
        offset: 0,
        reason: 'wrong_field_type',
        detail:
          'field "user": the event time is an object, expected epoch milliseconds (a number or a numeric string) or an ISO-8601 time',
        raw_encoding: 'base64',
      },
      {
        offset: 1,
        reason: 'missing_field',
        detail: 'field "user.id": "user" is missing, so the value has no user id',
        raw_encoding: 'base64',
      },
    ]);
  });
});
