import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import avro from 'avro-js';
import protobuf from 'protobufjs';
import { afterAll, describe, expect, it } from 'vitest';
import type { KafkaRecord } from '../../../lib/decode/index.ts';
import { ConfigError } from '../../../lib/errors.ts';
import {
  fieldOptions,
  loadValueSchema,
  type ParseOptions,
  parseRecord,
  type RejectReason,
  type SchemaSettings,
  SchemaValueDecoder,
} from '../../../lib/parse/index.ts';
import { encodeEvent, frame, type PayloadFormat, type Registry, SAMPLE } from '../../../scripts/payloads.ts';
import { MAX_EVENT_TIME_MS, MAX_USER_ID_LENGTH, recordWithValue } from './factories.ts';

// docs/DESIGN.md section 2, "Schema formats": Avro and Protobuf values in a registry's wire
// format, decoded by the Powertools Kafka consumer with the schema file in the package; every
// record that cannot be decoded is one rejection with its reason, never an exception.

const IDS = [String(SAMPLE.confluentSchemaId), SAMPLE.glueSchemaVersionId];
const SETTINGS: Record<'avro' | 'protobuf', SchemaSettings> = {
  avro: { format: 'avro', schemaFile: SAMPLE.avroFile, schemaMessage: undefined, schemaIds: IDS },
  protobuf: {
    format: 'protobuf',
    schemaFile: SAMPLE.protobufFile,
    schemaMessage: SAMPLE.protobufMessage,
    schemaIds: IDS,
  },
};
const OPTIONS: ParseOptions = {
  eventTimeSource: 'payload',
  maxUserIdLength: MAX_USER_ID_LENGTH,
  maxEventTimeMs: MAX_EVENT_TIME_MS,
  fields: fieldOptions({ userIdField: 'user.id', eventTimeField: 'event_time', eventTimeUnit: 'ms' }),
};

/** The values, decoded as a batch at consecutive offsets, then parsed. */
async function parseAll(format: 'avro' | 'protobuf', values: (Buffer | null)[], options = OPTIONS) {
  const records: KafkaRecord[] = values.map((value, offset) => recordWithValue(value, { offset }));
  const decoded = await new SchemaValueDecoder(loadValueSchema(SETTINGS[format])).decode(records);
  return {
    decoded,
    results: records.map((record) => parseRecord(record, options, decoded.get(record.offset))),
  };
}

const event = (offset: number, eventTime: number) => ({
  ok: true,
  event: { offset, userId: 'user_A', eventTime, timestamp: 1732435200123 },
});

describe('SchemaValueDecoder', () => {
  it.each([
    { format: 'avro', registry: 'confluent', zlib: false },
    { format: 'avro', registry: 'glue', zlib: false },
    { format: 'avro', registry: 'glue', zlib: true },
    { format: 'protobuf', registry: 'glue', zlib: false },
    { format: 'protobuf', registry: 'glue', zlib: true },
    { format: 'protobuf', registry: 'confluent', zlib: false },
  ] as const)(
    'reads the seed events as $format in the $registry wire format (zlib: $zlib)',
    async ({ format, registry, zlib }) => {
      // Prepare
      const values = [1000, 2000, 8000].map((t) => encodeEvent(format, 'user_A', t, { registry, zlib }));

      // Act
      const { results } = await parseAll(format, values);

      // Assess
      expect(results).toEqual([event(0, 1000), event(1, 2000), event(2, 8000)]);
    },
  );

  it.each(['avro', 'protobuf'] as const)(
    'rejects each bad %s record with its reason and decodes the others',
    async (format) => {
      // Prepare
      const good = (t: number) => encodeEvent(format, 'user_A', t);
      const values = [
        good(1000),
        encodeEvent(format, 'user_A', 1500, { registry: 'confluent', schemaId: '2' }),
        encodeEvent(format, 'user_A', 1500, {
          registry: 'glue',
          schemaId: '00000000-0000-4000-8000-000000000000',
        }),
        // Cut inside the last field (page: "/"): a protobuf cut between fields would still decode.
        good(1500).subarray(0, good(1500).length - 2),
        Buffer.from('user_A,1500'),
        frame('confluent', '1', Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff])),
        null,
        Buffer.alloc(0),
        good(2000),
      ];

      // Act
      const { decoded, results } = await parseAll(format, values);

      // Assess
      const reasons = results.map((r) => (r.ok ? 'ok' : r.rejection.reason));
      expect(reasons).toEqual([
        'ok',
        'unknown_schema_id',
        'unknown_schema_id',
        'schema_mismatch',
        'schema_mismatch',
        'schema_mismatch',
        'empty',
        'empty',
        'ok',
      ] satisfies (RejectReason | 'ok')[]);
      expect([...decoded.keys()].sort()).toEqual([0, 1, 2, 3, 4, 5, 8]);
      const details = results.map((r) => (r.ok ? '' : r.rejection.detail));
      expect(details[1]).toMatch(/Confluent header names schema id 2, which is not one of/);
      expect(details[2]).toMatch(/AWS Glue header names schema id 00000000-0000-4000-8000-000000000000/);
      expect(details[4]).toMatch(/does not start with a schema registry header/);
      // Bytes stored as they came, base64: a binary value is not text.
      expect(results[3]).toMatchObject({
        ok: false,
        rejection: { rawEncoding: 'base64', rawValue: (values[3] as Buffer).toString('base64') },
      });
    },
  );

  it('refuses a Protobuf record of another message of the file, instead of decoding it as this one', async () => {
    // Prepare: a sessionizer.User (Glue index 0, Confluent path [0]) where UserActivity (1, [1]) is expected.
    const root = new protobuf.Root().loadSync(SAMPLE.protobufFile, { keepCase: true });
    const user = Buffer.from(root.lookupType('sessionizer.User').encode({ id: 'user_A' }).finish());
    const values = [
      frame('glue', SAMPLE.glueSchemaVersionId, Buffer.concat([Buffer.from([0]), user])),
      frame('confluent', '1', Buffer.concat([Buffer.from([0]), user])),
    ];

    // Act
    const { results } = await parseAll('protobuf', values);

    // Assess
    expect(results.map((r) => (r.ok ? '' : r.rejection.detail))).toEqual([
      expect.stringMatching(/AWS Glue message index \[0\] names another message of the file than \[1\]/),
      expect.stringMatching(/Confluent message index \[0\] names another message of the file than \[1\]/),
    ]);
  });

  it.each([
    {
      format: 'avro',
      mapping: { userIdField: 'user.name' },
      reason: 'missing_field',
      detail: /^field "user\.name": "user\.name" is missing/,
    },
    {
      format: 'avro',
      mapping: { userIdField: 'event_time' },
      reason: 'wrong_field_type',
      detail: /the user id is a number \(1000\), expected a string/,
    },
    {
      format: 'avro',
      mapping: { eventTimeField: 'page' },
      reason: 'timestamp_not_integer',
      detail: /^field "page": the event time "\/" is not an integer/,
    },
    {
      format: 'protobuf',
      mapping: { eventTimeField: 'user' },
      reason: 'wrong_field_type',
      detail: /^field "user": the event time is an object/,
    },
    {
      format: 'protobuf',
      mapping: { userIdField: 'user.id.first' },
      reason: 'wrong_field_type',
      detail: /"user\.id" is a string \("user_A"\), not an object holding "first"/,
    },
  ] as const)(
    'maps the decoded $format record with the field mapping: $reason',
    async ({ format, mapping, reason, detail }) => {
      // Prepare
      const options: ParseOptions = {
        ...OPTIONS,
        fields: fieldOptions({
          userIdField: 'user.id',
          eventTimeField: 'event_time',
          eventTimeUnit: 'ms',
          ...mapping,
        }),
      };

      // Act
      const { results } = await parseAll(
        format as PayloadFormat as 'avro',
        [encodeEvent(format, 'user_A', 1000)],
        options,
      );

      // Assess
      expect(results[0]).toMatchObject({ ok: false, rejection: { reason } });
      expect(results[0]?.ok ? '' : results[0]?.rejection.detail).toMatch(detail);
    },
  );

  it('reads a Protobuf int64 time beyond 2^32 exactly, and a proto3 record without the user as missing_field', async () => {
    // Prepare
    const later = Date.parse('2026-12-02T02:48:00.123Z');
    const root = new protobuf.Root().loadSync(SAMPLE.protobufFile, { keepCase: true });
    const noUser = Buffer.from(root.lookupType(SAMPLE.protobufMessage).encode({ event_time: 5 }).finish());
    const values = [
      encodeEvent('protobuf', 'user_A', later),
      frame('glue', SAMPLE.glueSchemaVersionId, Buffer.concat([Buffer.from([1]), noUser])),
    ];

    // Act
    const { results } = await parseAll('protobuf', values);

    // Assess
    expect(results[0]).toEqual(event(0, later));
    expect(results[1]).toMatchObject({ ok: false, rejection: { reason: 'missing_field' } });
  });
});

describe('Avro unions', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sessionizer-unions-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('are read through: an optional user record of one field, an optional id and an optional time', async () => {
    // Prepare: avro-js hands union branches over wrapped ({"string": ...}); a one-field record must
    // not be taken for such a wrapper.
    const schema = {
      type: 'record',
      name: 'Click',
      namespace: 'shop',
      fields: [
        {
          name: 'who',
          type: ['null', { type: 'record', name: 'Who', fields: [{ name: 'id', type: ['null', 'string'] }] }],
        },
        { name: 'at', type: ['null', 'long'] },
        { name: 'tags', type: { type: 'map', values: ['null', 'string'] } },
      ],
    };
    writeFileSync(join(dir, 'click.avsc'), JSON.stringify(schema));
    const type = avro.parse(schema);
    const click = (id: string | null) =>
      frame(
        'confluent',
        '7',
        type.toBuffer({
          who: { 'shop.Who': { id: id === null ? null : { string: id } } },
          at: { long: 1000 },
          tags: { a: { string: 'b' } },
        }),
      );
    const records = [click('user_A'), click(null)].map((value, offset) => recordWithValue(value, { offset }));
    const loaded = loadValueSchema(
      { format: 'avro', schemaFile: 'click.avsc', schemaMessage: undefined, schemaIds: ['7'] },
      dir,
    );
    const options: ParseOptions = {
      ...OPTIONS,
      fields: fieldOptions({ userIdField: 'who.id', eventTimeField: 'at', eventTimeUnit: 'ms' }),
    };

    // Act
    const decoded = await new SchemaValueDecoder(loaded).decode(records);
    const results = records.map((record) => parseRecord(record, options, decoded.get(record.offset)));

    // Assess
    expect(decoded.get(0)).toEqual({
      ok: true,
      value: { who: { id: 'user_A' }, at: 1000, tags: { a: 'b' } },
    });
    expect(results[0]).toEqual(event(0, 1000));
    expect(results[1]).toMatchObject({
      ok: false,
      rejection: {
        reason: 'missing_field',
        detail: 'field "who.id": "who.id" is null, so the value has no user id',
      },
    });
  });
});

describe('loadValueSchema', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sessionizer-schemas-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return name;
  };
  const avro = (schemaFile: string): SchemaSettings => ({
    format: 'avro',
    schemaFile,
    schemaMessage: undefined,
    schemaIds: ['1'],
  });
  const proto = (schemaFile: string, schemaMessage?: string): SchemaSettings => ({
    format: 'protobuf',
    schemaFile,
    schemaMessage,
    schemaIds: ['1'],
  });

  it.each([
    {
      settings: avro('missing.avsc'),
      message: /VALUE_SCHEMA_FILE="missing\.avsc": cannot be read \(.*missing\.avsc\): ENOENT/,
    },
    {
      settings: avro(file('bad.avsc', '{"type": "recrd"}')),
      message: /VALUE_SCHEMA_FILE="bad\.avsc": is not an Avro schema: unknown type: "recrd"/,
    },
    { settings: avro(file('text.avsc', 'not json')), message: /is not an Avro schema/ },
    { settings: avro(file('string.avsc', '"string"')), message: /is an Avro schema, but not of a record/ },
    {
      settings: proto(file('bad.proto', 'message {')),
      message: /VALUE_SCHEMA_FILE="bad\.proto": is not a Protobuf schema/,
    },
    {
      settings: proto(SAMPLE.protobufFile),
      message:
        /VALUE_SCHEMA_MESSAGE="": is required: schemas\/user-activity\.proto defines 2 messages \(sessionizer\.User, sessionizer\.UserActivity\)/,
    },
    {
      settings: proto(SAMPLE.protobufFile, 'sessionizer.Nope'),
      message: /VALUE_SCHEMA_MESSAGE="sessionizer\.Nope": is not a message of schemas\/user-activity\.proto/,
    },
  ])('refuses with a ConfigError naming the setting: $message', ({ settings, message }) => {
    // Act
    const load = () =>
      loadValueSchema(settings, settings.schemaFile.startsWith('schemas/') ? process.cwd() : dir);

    // Assess
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(message);
  });

  it("takes a .proto's only message without VALUE_SCHEMA_MESSAGE", () => {
    // Prepare
    const name = file('one.proto', 'syntax = "proto3"; message Click { string user_id = 1; int64 ts = 2; }');

    // Act
    const schema = loadValueSchema(proto(name), dir);

    // Assess
    expect(schema).toMatchObject({
      format: 'protobuf',
      description: `the Protobuf message Click of ${name}`,
      messageIndexes: { confluent: [0], glue: 0 },
    });
  });
});

describe('the sample encoder', () => {
  it.each([
    ['avro', 'confluent'],
    ['protobuf', 'glue'],
  ] as [PayloadFormat, Registry][])(
    'frames %s for %s as the registry serializer does',
    (format, registry) => {
      // Act
      const bytes = encodeEvent(format, 'user_A', 1000, { registry });

      // Assess: Confluent 0x00 + id 1; Glue 0x03, uncompressed, the UUID, then Glue's index 1 of UserActivity.
      if (registry === 'confluent') expect(bytes.subarray(0, 5).toString('hex')).toBe('0000000001');
      else
        expect(bytes.subarray(0, 19).toString('hex')).toBe(
          `0300${SAMPLE.glueSchemaVersionId.replaceAll('-', '')}01`,
        );
    },
  );
});
