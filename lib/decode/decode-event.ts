import { EventShapeError } from '../errors.ts';
import { Base64Decoder } from './base64.ts';
import { decodeRecord, describeValue, isPlainObject } from './decode-record.ts';
import type { DecodedKafkaEvent, KafkaEventSource, KafkaRecord, PartitionBatch } from './types.ts';

/**
 * Validates a Lambda Kafka event (Amazon MSK or self-managed) and decodes it into one batch per
 * topic-partition.
 *
 * Throws EventShapeError when the envelope is wrong: not a Kafka event, or a record without topic,
 * partition or offset. Never throws for a bad payload: a value that is not UTF-8 or not
 * "<userId>,<millis>" is still a well-formed record, and parse.ts turns it into a rejection.
 *
 * Records are grouped by their own `topic` and `partition` fields, not by the "<topic>-<partition>"
 * label they are filed under: the fields are what the offsets belong to. Within a partition they
 * are sorted by offset and an offset seen twice is kept once (the first occurrence): the fold
 * relies on strictly increasing offsets, and Lambda's contract is to deliver them that way anyway.
 */
export function decodeKafkaEvent(event: unknown): DecodedKafkaEvent {
  if (!isPlainObject(event)) {
    throw new EventShapeError(
      `Expected an Amazon MSK or self-managed Kafka event object, got ${describeValue(event)}`,
    );
  }
  const eventSource = parseEventSource(event.eventSource);
  const eventSourceArn = parseEventSourceArn(eventSource, event.eventSourceArn);
  const bootstrapServers = parseBootstrapServers(event.bootstrapServers);
  const { records } = event;
  if (!isPlainObject(records)) {
    throw new EventShapeError(
      `Kafka event "records" is ${describeValue(records)}, expected an object of record arrays`,
    );
  }

  // topic -> partition -> records, so no string key has to encode the pair.
  const groups = new Map<string, Map<number, KafkaRecord[]>>();
  // The batch of the previous record, reused while topic and partition stay the same (a label
  // holds one partition's records): two Map lookups per record are saved.
  let batch: KafkaRecord[] | undefined;
  let topic: string | undefined;
  let partition = -1;
  // Keys and values are views of slabs the event's records share (lib/decode/base64.ts).
  const base64 = new Base64Decoder();
  for (const label of Object.keys(records)) {
    const list = records[label];
    const where = `Kafka event records[${JSON.stringify(label)}]`;
    if (!Array.isArray(list))
      throw new EventShapeError(`${where} is ${describeValue(list)}, expected an array`);
    for (let i = 0; i < list.length; i++) {
      const record = decodeRecord(list[i], where, i, base64);
      if (batch !== undefined && record.topic === topic && record.partition === partition) {
        batch.push(record);
        continue;
      }
      let partitions = groups.get(record.topic);
      if (partitions === undefined) {
        partitions = new Map();
        groups.set(record.topic, partitions);
      }
      batch = partitions.get(record.partition);
      if (batch === undefined) {
        batch = [];
        partitions.set(record.partition, batch);
      }
      batch.push(record);
      topic = record.topic;
      partition = record.partition;
    }
  }

  const batches: PartitionBatch[] = [];
  for (const topic of [...groups.keys()].sort()) {
    const partitions = groups.get(topic) as Map<number, KafkaRecord[]>;
    for (const partition of [...partitions.keys()].sort((a, b) => a - b)) {
      const records = inOffsetOrder(partitions.get(partition) as KafkaRecord[]);
      batches.push({ topic, partition, records });
    }
  }
  return eventSourceArn === undefined
    ? { eventSource, bootstrapServers, batches }
    : { eventSource, eventSourceArn, bootstrapServers, batches };
}

function parseEventSource(value: unknown): KafkaEventSource {
  if (value === 'aws:kafka' || value === 'SelfManagedKafka') return value;
  throw new EventShapeError(
    `Not an Amazon MSK or self-managed Kafka event: eventSource is ${describeValue(value)}, ` +
      'expected "aws:kafka" or "SelfManagedKafka"',
  );
}

/** MSK events name their cluster; self-managed ones have no ARN (anything there is ignored). */
function parseEventSourceArn(eventSource: KafkaEventSource, value: unknown): string | undefined {
  if (eventSource !== 'aws:kafka') return undefined;
  if (typeof value === 'string' && value !== '') return value;
  throw new EventShapeError(`Amazon MSK event has no eventSourceArn (got ${describeValue(value)})`);
}

/** One comma-separated string on the wire. Older events had none, so missing means []. */
function parseBootstrapServers(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (typeof value !== 'string') {
    throw new EventShapeError(
      `Kafka event bootstrapServers is ${describeValue(value)}, expected "host:port,host:port"`,
    );
  }
  const servers: string[] = [];
  for (const part of value.split(',')) {
    const server = part.trim();
    if (server !== '') servers.push(server);
  }
  return servers;
}

/** Sorts by offset (only when needed: Lambda already sends them in order) and drops repeated offsets. */
function inOffsetOrder(records: KafkaRecord[]): KafkaRecord[] {
  let sorted = true;
  for (let i = 1; i < records.length; i++) {
    if ((records[i] as KafkaRecord).offset <= (records[i - 1] as KafkaRecord).offset) {
      sorted = false;
      break;
    }
  }
  if (sorted) return records;
  // Array.prototype.sort is stable, so the first occurrence of a repeated offset stays first.
  const ordered = [...records].sort((a, b) => a.offset - b.offset);
  const unique: KafkaRecord[] = [];
  for (const record of ordered) {
    const last = unique[unique.length - 1];
    if (last === undefined || last.offset !== record.offset) unique.push(record);
  }
  return unique;
}
