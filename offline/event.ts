/**
 * From kafkajs messages to the exact event Lambda delivers, via the project's one event builder
 * (offline/build-event.ts), and what a record adds to the event's size, by which the lanes cut a
 * fetched run of messages into invocation-sized batches (offline/packed-records.ts).
 */
import type { KafkaMessage } from 'kafkajs';
import type { KafkaEvent, KafkaHeader, KafkaRecord } from '../lib/decode/index.ts';
import { type BuildKafkaEventInput, buildKafkaEvent } from './build-event.ts';
import type { TriggerDefinition } from './definition.ts';

/** kafkajs's message (key/value/headers as Buffers) as the project's KafkaRecord. */
export function toKafkaRecord(topic: string, partition: number, message: KafkaMessage): KafkaRecord {
  return {
    topic,
    partition,
    offset: Number(message.offset),
    timestamp: Number(message.timestamp),
    timestampType: timestampTypeOf(message),
    key: message.key ?? null,
    value: message.value ?? null,
    headers: messageHeaders(message),
  };
}

/** Kafka's attributes bit 3: the broker stamped the record (topic message.timestamp.type). */
export function timestampTypeOf(message: KafkaMessage): KafkaRecord['timestampType'] {
  return (message.attributes & 0x08) !== 0 ? 'LOG_APPEND_TIME' : 'CREATE_TIME';
}

const NO_HEADERS: readonly KafkaHeader[] = Object.freeze([]);

/** A message's headers as the wire had them, one per header; a message without any shares one empty list. */
export function messageHeaders(message: KafkaMessage): KafkaHeader[] {
  const raw = message.headers;
  if (raw === undefined || raw === null) return NO_HEADERS as KafkaHeader[];
  let headers: KafkaHeader[] | undefined;
  // for-in and indexed loops: Object.entries would allocate a [key, value] pair per header, and
  // wrapping a single value in an array one more array, for every record of every batch.
  for (const key in raw) {
    const value = raw[key];
    headers ??= [];
    // kafkajs folds repeated header keys into an array; the wire had one header per element.
    if (!Array.isArray(value)) pushHeader(headers, key, value);
    else for (let j = 0; j < value.length; j++) pushHeader(headers, key, value[j]);
  }
  return headers ?? (NO_HEADERS as KafkaHeader[]);
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

/**
 * Bytes a record adds to the event's JSON, a little over (base64 is 4/3, plus field names; a
 * header's value is a list of signed bytes, up to five characters each).
 */
export function approximateRecordBytes(
  topic: string,
  key: Buffer | null,
  value: Buffer | null,
  headers: readonly KafkaHeader[],
): number {
  let bytes = 200 + topic.length;
  bytes += Math.ceil(((key?.length ?? 0) * 4) / 3) + Math.ceil(((value?.length ?? 0) * 4) / 3);
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i] as KafkaHeader;
    bytes += h.key.length + 8 + h.value.length * 5;
  }
  return bytes;
}
