import { kafkaConsumer } from '@aws-lambda-powertools/kafka';
import type {
  ConsumerRecord,
  MSKEvent,
  Record as PowertoolsRecord,
} from '@aws-lambda-powertools/kafka/types';
import type { Context } from 'aws-lambda';
import type { KafkaRecord } from '../decode/index.ts';
import { rejectRecord } from './rejections.ts';
import type { DecodedValue, ValueDecoder } from './types.ts';
import type { ValueSchema } from './value-schema.ts';
import { readMessageIndexes, readWireHeader } from './wire-format.ts';

type Consume = (event: MSKEvent, context: Context) => Promise<unknown>;

/** Powertools' wrapper never reads the context; its handler type asks for one. */
const NO_CONTEXT = {} as Context;

/**
 * Avro and Protobuf values decoded with the Powertools Kafka consumer (docs/DESIGN.md section 2,
 * "Schema formats"), a partition batch at a time, before the fold.
 *
 * Why not wrap the handler in kafkaConsumer(), as its docs show: it takes the whole Lambda event
 * and hands the handler its records flattened, each value a getter that throws on bytes that do
 * not decode; and it decodes the payload without a registry header, which only an event source
 * mapping with a registry strips. This pipeline keeps its own decoding of the event (bad_envelope
 * per record, lib/decode) and must turn every bad record into a rejection, never an exception. So
 * each record is judged here first: its header read and its schema id checked against
 * VALUE_SCHEMA_IDS (readWireHeader; `schema_mismatch`, `unknown_schema_id`); the payloads that
 * pass go to kafkaConsumer as one MSK event shaped like a registry mapping's (payload, and the id
 * as valueSchemaMetadata), and each record's getter is read in its own try: an exception there
 * is that record's `schema_mismatch`.
 */
export class SchemaValueDecoder implements ValueDecoder {
  private readonly consume: Consume;

  constructor(private readonly schema: ValueSchema) {
    this.consume = kafkaConsumer<unknown, unknown>(async (event) => event.records, {
      value: schema.powertools,
    });
  }

  async decode(records: readonly KafkaRecord[]): Promise<ReadonlyMap<number, DecodedValue>> {
    const { schema } = this;
    const decoded = new Map<number, DecodedValue>();
    const passed: { record: KafkaRecord; schemaId: string }[] = [];
    const wire: PowertoolsRecord[] = [];
    for (const record of records) {
      // A broken envelope, a tombstone or an empty value: parseRecord says so, as in any format.
      if (record.envelopeFault !== undefined || record.value === null || record.value.length === 0) continue;
      const header = readWireHeader(record.value);
      if (typeof header === 'string') {
        decoded.set(
          record.offset,
          failed(record, 'schema_mismatch', `the value is not a record of ${schema.description}: ${header}`),
        );
        continue;
      }
      if (!schema.ids.has(header.schemaId)) {
        decoded.set(
          record.offset,
          failed(
            record,
            'unknown_schema_id',
            `the value's ${header.registry === 'glue' ? 'AWS Glue' : 'Confluent'} header names schema id ${header.schemaId}, ` +
              `which is not one of ${schema.description} (VALUE_SCHEMA_IDS: ${[...schema.ids].join(', ')})`,
          ),
        );
        continue;
      }
      let payload = header.payload;
      let metadata: PowertoolsRecord['valueSchemaMetadata'] = {
        dataFormat: schema.format.toUpperCase(),
        schemaId: header.schemaId,
      };
      if (schema.messageIndexes !== undefined) {
        const read = readMessageIndexes(payload, header.registry);
        const expected =
          header.registry === 'glue' ? [schema.messageIndexes.glue] : schema.messageIndexes.confluent;
        const problem =
          typeof read === 'string'
            ? read
            : read.indexes.join() === expected.join()
              ? undefined
              : `its ${header.registry === 'glue' ? 'AWS Glue' : 'Confluent'} message index [${read.indexes.join(', ')}] ` +
                `names another message of the file than [${expected.join(', ')}]`;
        if (problem !== undefined || typeof read === 'string') {
          decoded.set(
            record.offset,
            failed(
              record,
              'schema_mismatch',
              `the value is not a record of ${schema.description}: ${problem}`,
            ),
          );
          continue;
        }
        // The indexes are read: Powertools decodes the rest whole when given no schema id.
        payload = read.rest;
        metadata = { dataFormat: 'PROTOBUF' };
      }
      passed.push({ record, schemaId: header.schemaId });
      wire.push({
        topic: record.topic,
        partition: record.partition,
        offset: record.offset,
        timestamp: record.timestamp,
        timestampType: record.timestampType,
        value: payload.toString('base64'),
        headers: [],
        valueSchemaMetadata: metadata,
        keySchemaMetadata: { dataFormat: 'NONE' },
      });
    }
    if (wire.length === 0) return decoded;
    const consumed = (await this.consume(
      { eventSource: 'aws:kafka', eventSourceArn: '', bootstrapServers: '', records: { values: wire } },
      NO_CONTEXT,
    )) as ConsumerRecord<unknown, unknown>[];
    for (let i = 0; i < passed.length; i++) {
      const { record, schemaId } = passed[i] as (typeof passed)[number];
      try {
        const value = (consumed[i] as ConsumerRecord<unknown, unknown>).value;
        decoded.set(record.offset, { ok: true, value: schema.plain(value) });
      } catch (error) {
        decoded.set(
          record.offset,
          failed(
            record,
            'schema_mismatch',
            `the value (schema id ${schemaId}) does not decode as ${schema.description}: ${shortMessage(error)}`,
          ),
        );
      }
    }
    return decoded;
  }
}

function failed(
  record: KafkaRecord,
  reason: 'schema_mismatch' | 'unknown_schema_id',
  detail: string,
): DecodedValue {
  return { ok: false, rejection: rejectRecord(record, reason, detail) };
}

/**
 * Powertools' deserialization errors append the whole value and schema ("..., message: <base64>,
 * schema: ..."): the value is stored beside the rejection anyway, so the detail keeps the cause.
 */
function shortMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const cut = message.indexOf(', message: ');
  const cause = cut === -1 ? message : message.slice(0, cut);
  return cause.length > 300 ? `${cause.slice(0, 300)}...` : cause;
}
