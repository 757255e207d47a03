/**
 * From kafkajs messages to the exact event Lambda delivers, via the project's one event builder
 * (lib/kafka/build.ts), and the cut of a fetched run of messages into invocation-sized batches.
 */
import type { KafkaMessage } from 'kafkajs';
import type { KafkaEvent, KafkaHeader, KafkaRecord } from '../lib/decode/index.ts';
import { chunkBySize } from '../lib/shared/index.ts';
import { type BuildKafkaEventInput, buildKafkaEvent } from './build-event.ts';
import { MAX_EVENT_BYTES, type TriggerDefinition } from './definition.ts';

/** kafkajs's message (key/value/headers as Buffers) as the project's KafkaRecord. */
export function toKafkaRecord(topic: string, partition: number, message: KafkaMessage): KafkaRecord {
  const headers: KafkaHeader[] = [];
  const raw = message.headers;
  if (raw !== undefined && raw !== null) {
    // Object.keys and indexed loops: Object.entries would allocate a [key, value] pair per header,
    // and wrapping a single value in an array one more array, for every record of every batch.
    const keys = Object.keys(raw);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      const value = raw[key];
      // kafkajs folds repeated header keys into an array; the wire had one header per element.
      if (!Array.isArray(value)) pushHeader(headers, key, value);
      else for (let j = 0; j < value.length; j++) pushHeader(headers, key, value[j]);
    }
  }
  return {
    topic,
    partition,
    offset: Number(message.offset),
    timestamp: Number(message.timestamp),
    // Kafka's attributes bit 3: the broker stamped the record (topic message.timestamp.type).
    timestampType: (message.attributes & 0x08) !== 0 ? 'LOG_APPEND_TIME' : 'CREATE_TIME',
    key: message.key ?? null,
    value: message.value ?? null,
    headers,
  };
}

function pushHeader(headers: KafkaHeader[], key: string, value: Buffer | string | undefined): void {
  if (value === undefined) return;
  headers.push({ key, value: Buffer.isBuffer(value) ? value : Buffer.from(String(value)) });
}

export function buildEvent(
  trigger: Pick<TriggerDefinition, 'eventSource' | 'eventSourceArn'>,
  brokers: readonly string[],
  records: readonly KafkaRecord[],
): KafkaEvent {
  return buildKafkaEvent({ ...eventSource(trigger, brokers), records });
}

/** What the event says around its records: the trigger's source (an ARN only where it has one) and brokers. */
export function eventSource(
  trigger: Pick<TriggerDefinition, 'eventSource' | 'eventSourceArn'>,
  brokers: readonly string[],
): Omit<BuildKafkaEventInput, 'records'> {
  return {
    eventSource: trigger.eventSource,
    ...(trigger.eventSourceArn === undefined ? {} : { eventSourceArn: trigger.eventSourceArn }),
    bootstrapServers: brokers,
  };
}

/** Bytes a record adds to the event's JSON, a little over (base64 is 4/3, plus field names). */
export function approximateRecordBytes(record: KafkaRecord): number {
  let bytes = 200 + record.topic.length;
  bytes += Math.ceil(((record.key?.length ?? 0) * 4) / 3) + Math.ceil(((record.value?.length ?? 0) * 4) / 3);
  for (const h of record.headers) bytes += h.key.length + 8 + h.value.length * 5;
  return bytes;
}

/**
 * Cuts records (one partition, in offset order) into batches of at most `batchSize` records and
 * at most the 6 MB payload limit. A single record over the limit still goes alone: Lambda would
 * refuse it, and we would rather show the function's error than stall silently.
 */
export function cutBatches(
  records: readonly KafkaRecord[],
  batchSize: number,
  maxBytes = MAX_EVENT_BYTES - 1024,
): KafkaRecord[][] {
  return chunkBySize(records, batchSize, maxBytes, approximateRecordBytes);
}
