import type {
  KafkaEvent,
  KafkaEventRecord,
  KafkaEventRecordHeader,
  KafkaEventSource,
  KafkaRecord,
} from '../lib/decode/index.ts';

export interface BuildKafkaEventInput {
  readonly eventSource: KafkaEventSource;
  /** Required for 'aws:kafka', forbidden for 'SelfManagedKafka' (Lambda sends none). */
  readonly eventSourceArn?: string;
  readonly bootstrapServers: readonly string[];
  /** In the order they should appear; grouped under "<topic>-<partition>" keeping that order. */
  readonly records: readonly KafkaRecord[];
}

/**
 * Builds the event Lambda would deliver for these records: the inverse of decodeKafkaEvent. Used
 * by the local trigger that emulates the event source mapping, and by tests.
 *
 * What Lambda does with absent data, and so what this does:
 * - a record without a key (key null) has no "key" property (earlier AWS example events had no
 *   key at all; Powertools' parser schema makes it optional); decode accepts "key": null too;
 * - a tombstone (value null) has no "value" property: Powertools' Kafka consumer had to learn
 *   that real tombstones arrive without one (aws-powertools/powertools-lambda-typescript#5016);
 *   decode accepts "value": null as well;
 * - an empty key or value (zero bytes) is "" - not the same as absent;
 * - headers are one-key objects in record order, bytes as Java signed bytes (-128..127);
 * - properties come in the order of the AWS example event, so the JSON reads the same.
 */
export function buildKafkaEvent(input: BuildKafkaEventInput): KafkaEvent {
  const records: Record<string, KafkaEventRecord[]> = {};
  for (const record of input.records) {
    const label = `${record.topic}-${record.partition}`;
    const group = records[label];
    if (group === undefined) records[label] = [encodeRecord(record)];
    else group.push(encodeRecord(record));
  }
  const bootstrapServers = input.bootstrapServers.join(',');
  if (input.eventSource === 'aws:kafka') {
    if (input.eventSourceArn === undefined || input.eventSourceArn === '') {
      throw new TypeError('buildKafkaEvent: an "aws:kafka" event needs the MSK cluster ARN (eventSourceArn)');
    }
    return { eventSource: 'aws:kafka', eventSourceArn: input.eventSourceArn, bootstrapServers, records };
  }
  if (input.eventSourceArn !== undefined) {
    throw new TypeError('buildKafkaEvent: a "SelfManagedKafka" event has no eventSourceArn');
  }
  return { eventSource: 'SelfManagedKafka', bootstrapServers, records };
}

function encodeRecord(record: KafkaRecord): KafkaEventRecord {
  const headers: KafkaEventRecordHeader[] = [];
  for (const header of record.headers) {
    // A computed key defines an own property even for "__proto__", so any header name round-trips.
    headers.push({ [header.key]: toSignedBytes(header.value) });
  }
  return {
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    timestamp: record.timestamp,
    timestampType: record.timestampType,
    ...(record.key === null ? {} : { key: record.key.toString('base64') }),
    ...(record.value === null ? {} : { value: record.value.toString('base64') }),
    headers,
  };
}

/** Java's byte is signed: 0x80..0xff are -128..-1 on the wire. */
function toSignedBytes(bytes: Buffer): number[] {
  const signed = new Array<number>(bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i] as number;
    signed[i] = byte > 127 ? byte - 256 : byte;
  }
  return signed;
}
