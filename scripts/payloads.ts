/**
 * Values as real producers send them, for the sample schemas of docs/PAYLOADS.md: `npm run produce
 * -- --format ...`, the events/ samples and the tests. The job only decodes (lib/parse); this is
 * the producers' side: JSON with ISO-8601 times, Avro in the Confluent wire format, Protobuf in
 * the AWS Glue wire format (either binary format in either wire format on request).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import avro, { type Type as AvroType } from 'avro-js';
import protobuf from 'protobufjs';
import type { KafkaEvent } from '../lib/decode/index.ts';
import { buildKafkaEvent } from '../offline/build-event.ts';
import { isMain, runMain } from './cli.ts';

export const PAYLOAD_FORMATS = ['text', 'json', 'avro', 'protobuf'] as const;
export type PayloadFormat = (typeof PAYLOAD_FORMATS)[number];
export type Registry = 'confluent' | 'glue';

/** The sample schemas and the ids the samples are registered under (the settings of docs/PAYLOADS.md). */
export const SAMPLE = {
  avroFile: 'schemas/user-activity.avsc',
  protobufFile: 'schemas/user-activity.proto',
  protobufMessage: 'sessionizer.UserActivity',
  /** Confluent schema ids are integers. */
  confluentSchemaId: 1,
  /** AWS Glue schema version ids are UUIDs. */
  glueSchemaVersionId: '6f1c2a3b-5d6e-4f70-8a9b-0c1d2e3f4a5b',
  userIdField: 'user.id',
  eventTimeField: 'event_time',
} as const;

/** The settings the job needs for a format's samples, as environment variables. */
export function sampleSettings(
  format: PayloadFormat,
  registry = defaultRegistry(format),
): Record<string, string> {
  if (format === 'text') return {};
  const fields = { USER_ID_FIELD: SAMPLE.userIdField, EVENT_TIME_FIELD: SAMPLE.eventTimeField };
  if (format === 'json') return fields;
  const id = registry === 'confluent' ? String(SAMPLE.confluentSchemaId) : SAMPLE.glueSchemaVersionId;
  return format === 'avro'
    ? { VALUE_FORMAT: 'avro', VALUE_SCHEMA_FILE: SAMPLE.avroFile, VALUE_SCHEMA_IDS: id, ...fields }
    : {
        VALUE_FORMAT: 'protobuf',
        VALUE_SCHEMA_FILE: SAMPLE.protobufFile,
        VALUE_SCHEMA_MESSAGE: SAMPLE.protobufMessage,
        VALUE_SCHEMA_IDS: id,
        ...fields,
      };
}

/** The wire format each binary sample uses unless told otherwise: Avro Confluent, Protobuf Glue. */
export function defaultRegistry(format: PayloadFormat): Registry {
  return format === 'protobuf' ? 'glue' : 'confluent';
}

export interface EncodeOptions {
  readonly registry?: Registry;
  /** The schema id the header names (default: the sample's for that registry). */
  readonly schemaId?: string;
  /** Glue only: the payload zlib-compressed, as the Glue serializer's COMPRESSION_TYPE=ZLIB does. */
  readonly zlib?: boolean;
}

/** One event of the sample schemas as the value bytes a producer of `format` would write. */
export function encodeEvent(
  format: PayloadFormat,
  userId: string,
  eventTimeMs: number,
  options: EncodeOptions = {},
): Buffer {
  if (format === 'text') return Buffer.from(`${userId},${eventTimeMs}`);
  if (format === 'json') {
    const event = { user: { id: userId }, event_time: new Date(eventTimeMs).toISOString(), page: '/' };
    return Buffer.from(JSON.stringify(event));
  }
  const registry = options.registry ?? defaultRegistry(format);
  const schemaId =
    options.schemaId ??
    (registry === 'confluent' ? String(SAMPLE.confluentSchemaId) : SAMPLE.glueSchemaVersionId);
  if (format === 'avro') {
    const payload = avroType().toBuffer({
      user: { id: userId },
      event_time: eventTimeMs,
      page: { string: '/' },
    });
    return frame(registry, schemaId, payload, options.zlib === true);
  }
  const type = protobufType();
  const payload = Buffer.from(
    type.encode({ user: { id: userId }, event_time: eventTimeMs, page: '/' }).finish(),
  );
  // The message index before the payload: Confluent writes the path of indexes into the file's
  // messages (0 alone, the first message, as the single byte 0, else a zigzag count and zigzag
  // indexes); Glue one unsigned varint, the message's position among the file's messages sorted
  // by full name (awslabs/aws-glue-schema-registry, MessageIndexFinder).
  const index = messageIndex(type);
  const indexes = registry === 'confluent' ? confluentIndexes(type) : varint(index);
  return frame(registry, schemaId, Buffer.concat([indexes, payload]), options.zlib === true);
}

/** The registry header before `payload`: Confluent 0x00 + id; Glue 0x03, compression, UUID. */
export function frame(registry: Registry, schemaId: string, payload: Buffer, zlib = false): Buffer {
  if (registry === 'confluent') {
    const header = Buffer.alloc(5);
    header.writeUInt32BE(Number(schemaId), 1);
    return Buffer.concat([header, payload]);
  }
  const id = Buffer.from(schemaId.replaceAll('-', ''), 'hex');
  return Buffer.concat([Buffer.from([0x03, zlib ? 0x05 : 0x00]), id, zlib ? deflateSync(payload) : payload]);
}

let avroCache: AvroType | undefined;
function avroType(): AvroType {
  avroCache ??= avro.parse(JSON.parse(readFileSync(SAMPLE.avroFile, 'utf8')) as object);
  return avroCache;
}

let protobufCache: protobuf.Type | undefined;
function protobufType(): protobuf.Type {
  protobufCache ??= new protobuf.Root()
    .loadSync(SAMPLE.protobufFile, { keepCase: true })
    .lookupType(SAMPLE.protobufMessage);
  return protobufCache;
}

/** Glue's message index: the position among all the file's messages sorted by full name. */
function messageIndex(type: protobuf.Type): number {
  const names: string[] = [];
  const walk = (namespace: protobuf.NamespaceBase): void => {
    for (const nested of namespace.nestedArray) {
      if (nested instanceof protobuf.Type) names.push(nested.fullName);
      if (nested instanceof protobuf.Namespace || nested instanceof protobuf.Type) walk(nested);
    }
  };
  walk(type.root);
  return names.sort().indexOf(type.fullName);
}

/** Confluent's message indexes of a top-level message: its position among the file's top-level ones. */
function confluentIndexes(type: protobuf.Type): Buffer {
  const parent = type.parent as protobuf.Namespace;
  const position = parent.nestedArray.filter((n) => n instanceof protobuf.Type).indexOf(type);
  return position === 0 ? Buffer.from([0]) : Buffer.concat([varint(2), varint(position * 2)]); // zigzag(1), zigzag(i)
}

function varint(value: number): Buffer {
  const bytes: number[] = [];
  let rest = value;
  while (rest > 0x7f) {
    bytes.push((rest & 0x7f) | 0x80);
    rest >>>= 7;
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

/** The formats with a sample batch in events/ (text is events/seed-batch.json itself). */
export const SAMPLE_BATCHES = {
  json: 'seed-batch-json.json',
  avro: 'seed-batch-avro.json',
  protobuf: 'seed-batch-protobuf.json',
} as const;

/**
 * The seed scenario (user_A at 1000, 2000, 8000 ms; docs/DESIGN.md section 3) as the MSK event
 * Lambda delivers for a producer of `format`: events/seed-batch.json's topic, partition, offsets,
 * Kafka timestamps and keys, so events/seed-tick.json (offset 3) closes its second session too.
 */
export function sampleBatch(format: PayloadFormat): KafkaEvent {
  const timestamps = [1732435200123, 1732435200187, 1732435201342];
  return buildKafkaEvent({
    eventSource: 'aws:kafka',
    eventSourceArn:
      'arn:aws:kafka:us-east-1:123456789012:cluster/sessionizer-dev/7f3c2a1e-5b8d-4e6f-9a0b-1c2d3e4f5a6b-2',
    bootstrapServers: ['127.0.0.1:9092'],
    records: [1000, 2000, 8000].map((eventTime, offset) => ({
      topic: 'user_activity_sample',
      partition: 0,
      offset,
      timestamp: timestamps[offset] as number,
      timestampType: 'CREATE_TIME',
      key: Buffer.from('user_A'),
      // One time written with an offset, so the sample shows both ISO-8601 forms.
      value:
        format === 'json' && offset === 1
          ? Buffer.from('{"user":{"id":"user_A"},"event_time":"1970-01-01T01:00:02.000+01:00","page":"/"}')
          : encodeEvent(format, 'user_A', eventTime),
      headers: [],
    })),
  });
}

/** The text of a sample batch file, as written to events/. */
export function sampleBatchFile(format: keyof typeof SAMPLE_BATCHES): string {
  return `${JSON.stringify(sampleBatch(format), null, 2)}\n`;
}

// `npx tsx scripts/payloads.ts`: writes the sample batches of events/ again (a test checks them).
if (isMain(import.meta.url)) {
  runMain('scripts/payloads.ts', async () => {
    for (const format of Object.keys(SAMPLE_BATCHES) as (keyof typeof SAMPLE_BATCHES)[]) {
      writeFileSync(`events/${SAMPLE_BATCHES[format]}`, sampleBatchFile(format));
      console.log(`events/${SAMPLE_BATCHES[format]}`);
    }
    return 0;
  });
}
