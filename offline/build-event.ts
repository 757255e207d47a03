import type {
  KafkaEvent,
  KafkaEventRecord,
  KafkaEventRecordHeader,
  KafkaEventSource,
  KafkaHeader,
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
  // The group of the previous record, reused while the topic and partition stay the same (the
  // trigger hands one partition per event): building "<topic>-<partition>" and looking it up per
  // record cost more than encoding a small record.
  let group: KafkaEventRecord[] | undefined;
  let topic: string | undefined;
  let partition = -1;
  for (const record of input.records) {
    if (group === undefined || record.topic !== topic || record.partition !== partition) {
      const label = `${record.topic}-${record.partition}`;
      group = records[label];
      if (group === undefined) {
        group = [];
        records[label] = group;
      }
      topic = record.topic;
      partition = record.partition;
    }
    group.push(encodeRecord(record));
  }
  return wrapRecords(input, records);
}

function encodeRecord(record: KafkaRecord): KafkaEventRecord {
  const headers: KafkaEventRecordHeader[] = [];
  for (let i = 0; i < record.headers.length; i++) {
    const header = record.headers[i] as KafkaHeader;
    headers.push(oneHeader(header.key, toSignedBytes(header.value)));
  }
  const { topic, partition, offset, timestamp, timestampType, key, value } = record;
  return eventRecord(
    topic,
    partition,
    offset,
    timestamp,
    timestampType,
    key === null ? null : key.toString('base64'),
    value === null ? null : value.toString('base64'),
    headers,
  );
}

/**
 * One record of the event, key and value already base64 (null: absent), headers already in the
 * event's form (oneHeader, toSignedBytes). One literal per case rather than conditional spreads,
 * which allocate a throwaway object per record and build the result property by property. The
 * properties keep the AWS example's order.
 */
export function eventRecord(
  topic: string,
  partition: number,
  offset: number,
  timestamp: number,
  timestampType: KafkaEventRecord['timestampType'],
  key: string | null,
  value: string | null,
  headers: KafkaEventRecordHeader[],
): KafkaEventRecord {
  if (key !== null && value !== null) {
    return { topic, partition, offset, timestamp, timestampType, key, value, headers };
  }
  if (value !== null) return { topic, partition, offset, timestamp, timestampType, value, headers };
  if (key !== null) return { topic, partition, offset, timestamp, timestampType, key, headers };
  return { topic, partition, offset, timestamp, timestampType, headers };
}

/**
 * The event around records already grouped under "<topic>-<partition>" (buildKafkaEvent groups
 * them; a caller that holds one partition's records builds the group itself).
 */
export function wrapRecords(
  input: Omit<BuildKafkaEventInput, 'records'>,
  records: Record<string, KafkaEventRecord[]>,
): KafkaEvent {
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

/**
 * `{ [key]: bytes }`: a computed key in a literal is a runtime call per header, plain assignment
 * an inline cache, and both define an own data property - except for "__proto__", which assignment
 * would take as the prototype, so that one name keeps the literal (any header name round-trips).
 */
export function oneHeader(key: string, bytes: number[]): KafkaEventRecordHeader {
  if (key === '__proto__') return { [key]: bytes };
  const header: KafkaEventRecordHeader = {};
  header[key] = bytes;
  return header;
}

/**
 * Java's byte is signed: 0x80..0xff are -128..-1 on the wire. Pushed onto [] rather than written
 * into `new Array(n)`: that array is "holey" for good, and V8's structured clone (how
 * serverless-offline hands the event to the function's worker thread) writes a holey array as a
 * sparse one, key by key, and reads it back as one: several times the cost of a packed array, on
 * both threads, for every header of every record.
 */
export function toSignedBytes(bytes: Buffer): number[] {
  const signed: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i] as number;
    signed.push(byte > 127 ? byte - 256 : byte);
  }
  return signed;
}
