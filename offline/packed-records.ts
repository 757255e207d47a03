/**
 * A run of one partition's records as one ArrayBuffer: what a lane of the local trigger holds
 * between the fetch and the invocation (offline/reader.ts), and what the end-to-end bench hands
 * from the trigger (the main thread) to the partition's handler (a worker thread), transferred,
 * not copied. A lane packs kafkajs's messages of a fetch straight into batches (packMessages),
 * with no record object or copy of the run in between. Packed as soon as they are fetched, the
 * records waiting in a lane are bytes outside the JavaScript heap instead of four objects each
 * (the record, its key and value views and its headers) that live through several young-generation
 * collections, each of which copies them: a drain of 1M events spent about 1.7 s of the trigger
 * thread's time in those collections (docs/BENCHMARKS.md, "Near midnight on 2026-12-03"). The event Lambda would deliver is built
 * from the bytes (packedEvent), equal to buildEvent's from the records (offline/event.ts), as
 * Lambda's runtime builds it from the Runtime API's JSON in the function's own container.
 *
 * Layout, little-endian: topic (u16 length, UTF-8), partition (u32), record count (u32); then per
 * record offset and timestamp (f64), timestampType (u8: 1 LOG_APPEND_TIME), key and value (i32
 * length, -1 for null, then the bytes), header count (u16) and each header's key (u16 length,
 * UTF-8) and value (i32 length, bytes).
 */
import type { KafkaMessage } from 'kafkajs';
import type {
  KafkaEvent,
  KafkaEventRecord,
  KafkaEventRecordHeader,
  KafkaHeader,
  KafkaRecord,
} from '../lib/decode/index.ts';
import { eventRecord, oneHeader, toSignedBytes, wrapRecords } from './build-event.ts';
import type { TriggerDefinition } from './definition.ts';
import { approximateRecordBytes, eventSource, messageHeaders, timestampTypeOf } from './event.ts';

/** Packed records of one partition, in offset order, with what the trigger reads without unpacking them. */
export interface PackedBatch {
  readonly topic: string;
  readonly partition: number;
  readonly count: number;
  readonly firstOffset: number;
  readonly lastOffset: number;
  /** The event's size the records add, approximately (approximateRecordBytes): the lane's 6 MB cut. */
  readonly eventBytes: number;
  readonly bytes: ArrayBuffer;
}

/** packRecords, with the batch's partition, count and first and last offsets beside the bytes. */
export function packBatch(records: readonly KafkaRecord[]): PackedBatch {
  // packRecords refuses an empty batch and one of two partitions.
  const bytes = packRecords(records);
  const first = records[0] as KafkaRecord;
  const lastOffset = (records.at(-1) as KafkaRecord).offset;
  const { topic, partition } = first;
  let eventBytes = 0;
  for (const r of records) eventBytes += approximateRecordBytes(topic, r.key, r.value, r.headers);
  return {
    topic,
    partition,
    count: records.length,
    firstOffset: first.offset,
    lastOffset,
    eventBytes,
    bytes,
  };
}

/** How a lane cuts a fetch into batches: records, and the event's approximate bytes, per batch. */
export interface BatchLimits {
  readonly batchSize: number;
  readonly maxEventBytes: number;
}

/**
 * kafkajs's messages of one partition (offset order) packed straight into batches, as packBatch
 * packs toKafkaRecord's records of them, without a record object or a copy of the run in
 * between: a lane does this to every fetch (offline/reader.ts). A batch holds at most
 * `limits.batchSize` records and `limits.maxEventBytes` of the event; a record over that goes
 * alone. With `tail` (the lane's last waiting batch) the run continues it while it has room: the
 * first batch returned is then the tail with records added (same first offset), as the event
 * source mapping fills the batch it has open while the function runs.
 */
export function packMessages(
  topic: string,
  partition: number,
  messages: readonly KafkaMessage[],
  limits: BatchLimits,
  tail?: PackedBatch,
): PackedBatch[] {
  if (tail !== undefined && (tail.topic !== topic || tail.partition !== partition)) {
    throw new RangeError(
      `packMessages: one partition per batch, got ${tail.topic}-${tail.partition} and ${topic}-${partition}`,
    );
  }
  const batches: PackedBatch[] = [];
  const head = Buffer.from(topic);
  let open = tail;
  let start = 0;
  let count = open?.count ?? 0;
  let eventBytes = open?.eventBytes ?? 0;
  let size = open?.bytes.byteLength ?? 2 + head.length + 8;
  // The open batch ends before messages[end]: written when it gained messages, else the tail as it was.
  const close = (end: number) => {
    if (end > start)
      batches.push(writeBatch(topic, partition, head, messages, start, end, size, eventBytes, open));
    else if (open !== undefined) batches.push(open);
  };
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i] as KafkaMessage;
    const headers = messageHeaders(m);
    const adds = approximateRecordBytes(topic, m.key ?? null, m.value ?? null, headers);
    if (count > 0 && (count >= limits.batchSize || eventBytes + adds > limits.maxEventBytes)) {
      close(i);
      open = undefined;
      start = i;
      count = 0;
      eventBytes = 0;
      size = 2 + head.length + 8;
    }
    count++;
    eventBytes += adds;
    size += packedSize(m, headers);
  }
  close(messages.length);
  return batches;
}

/** The bytes packRecords writes for the message's record. */
function packedSize(m: KafkaMessage, headers: readonly KafkaHeader[]): number {
  let size = 8 + 8 + 1 + 4 + (m.key?.length ?? 0) + 4 + (m.value?.length ?? 0) + 2;
  for (let h = 0; h < headers.length; h++) {
    const header = headers[h] as KafkaHeader;
    size += 2 + Buffer.byteLength(header.key) + 4 + header.value.length;
  }
  return size;
}

/** messages[from, to) packed after `tail`'s records (or alone), into `size` bytes; `eventBytes` is all of theirs. */
function writeBatch(
  topic: string,
  partition: number,
  head: Buffer,
  messages: readonly KafkaMessage[],
  from: number,
  to: number,
  size: number,
  eventBytes: number,
  tail: PackedBatch | undefined,
): PackedBatch {
  const buffer = new ArrayBuffer(size);
  const out = Buffer.from(buffer);
  // DataView's setters compile to plain stores; Buffer's write*LE check their arguments each call.
  const view = new DataView(buffer);
  let at: number;
  if (tail === undefined) {
    view.setUint16(0, head.length, true);
    out.set(head, 2);
    view.setUint32(2 + head.length, partition, true);
    at = 2 + head.length + 8;
  } else {
    out.set(new Uint8Array(tail.bytes), 0);
    at = tail.bytes.byteLength;
  }
  let lastOffset = 0;
  for (let i = from; i < to; i++) {
    const m = messages[i] as KafkaMessage;
    const headers = messageHeaders(m);
    lastOffset = Number(m.offset);
    view.setFloat64(at, lastOffset, true);
    view.setFloat64(at + 8, Number(m.timestamp), true);
    out[at + 16] = timestampTypeOf(m) === 'LOG_APPEND_TIME' ? 1 : 0;
    at = putBytes(out, view, at + 17, m.key ?? null);
    at = putBytes(out, view, at, m.value ?? null);
    view.setUint16(at, headers.length, true);
    at += 2;
    for (let h = 0; h < headers.length; h++) {
      const header = headers[h] as KafkaHeader;
      const length = out.write(header.key, at + 2, 'utf8');
      view.setUint16(at, length, true);
      at = putBytes(out, view, at + 2 + length, header.value);
    }
  }
  if (at !== size) throw new RangeError(`packMessages: packed ${at} bytes of ${size}`);
  const count = (tail?.count ?? 0) + to - from;
  view.setUint32(2 + head.length + 4, count, true);
  const firstOffset = tail?.firstOffset ?? Number((messages[from] as KafkaMessage).offset);
  return { topic, partition, count, firstOffset, lastOffset, eventBytes, bytes: buffer };
}

function putBytes(out: Buffer, view: DataView, at: number, bytes: Buffer | null): number {
  if (bytes === null) {
    view.setInt32(at, -1, true);
    return at + 4;
  }
  view.setInt32(at, bytes.length, true);
  out.set(bytes, at + 4);
  return at + 4 + bytes.length;
}

export function packRecords(records: readonly KafkaRecord[]): ArrayBuffer {
  const first = records[0];
  if (first === undefined) throw new RangeError('packRecords: an empty batch');
  const { topic, partition } = first;
  const topicBytes = Buffer.from(topic);
  let size = 2 + topicBytes.length + 8;
  for (const r of records) {
    if (r.topic !== topic || r.partition !== partition) {
      throw new RangeError(
        `packRecords: one partition per batch, got ${topic}-${partition} and ${r.topic}-${r.partition}`,
      );
    }
    size += 8 + 8 + 1 + 4 + (r.key?.length ?? 0) + 4 + (r.value?.length ?? 0) + 2;
    for (const h of r.headers) size += 2 + Buffer.byteLength(h.key) + 4 + h.value.length;
  }
  const out = Buffer.from(new ArrayBuffer(size));
  let at = out.writeUInt16LE(topicBytes.length, 0);
  at += topicBytes.copy(out, at);
  at = out.writeUInt32LE(partition, at);
  at = out.writeUInt32LE(records.length, at);
  for (const r of records) {
    at = out.writeDoubleLE(r.offset, at);
    at = out.writeDoubleLE(r.timestamp, at);
    at = out.writeUInt8(r.timestampType === 'LOG_APPEND_TIME' ? 1 : 0, at);
    at = writeBytes(out, at, r.key);
    at = writeBytes(out, at, r.value);
    at = out.writeUInt16LE(r.headers.length, at);
    for (const h of r.headers) {
      const key = Buffer.from(h.key);
      at = out.writeUInt16LE(key.length, at);
      at += key.copy(out, at);
      at = writeBytes(out, at, h.value);
    }
  }
  return out.buffer as ArrayBuffer;
}

function writeBytes(out: Buffer, at: number, bytes: Buffer | null): number {
  if (bytes === null) return out.writeInt32LE(-1, at);
  const next = out.writeInt32LE(bytes.length, at);
  // TypedArray#set: Buffer#copy's argument handling costs more than copying a record's few bytes.
  out.set(bytes, next);
  return next + bytes.length;
}

/**
 * A reader of a packed batch, record by record, without an object per record: `next()` reads one
 * record's fixed fields into the reader's own, keys and values stay spans of `bytes` (length -1:
 * null) and headers are read with `header()` after it. unpackRecords and packedEvent share it.
 */
class PackedReader {
  readonly bytes: Buffer;
  readonly topic: string;
  readonly partition: number;
  readonly count: number;
  offset = 0;
  timestamp = 0;
  timestampType: KafkaRecord['timestampType'] = 'CREATE_TIME';
  keyAt = 0;
  keyLength = -1;
  valueAt = 0;
  valueLength = -1;
  headerCount = 0;
  headerKey = '';
  headerAt = 0;
  headerLength = -1;
  private at: number;

  constructor(buffer: ArrayBuffer) {
    this.bytes = Buffer.from(buffer);
    const topicLength = this.bytes.readUInt16LE(0);
    this.topic = this.bytes.toString('utf8', 2, 2 + topicLength);
    this.at = 2 + topicLength;
    this.partition = this.bytes.readUInt32LE(this.at);
    this.count = this.bytes.readUInt32LE(this.at + 4);
    this.at += 8;
  }

  next(): void {
    const { bytes } = this;
    this.offset = bytes.readDoubleLE(this.at);
    this.timestamp = bytes.readDoubleLE(this.at + 8);
    this.timestampType = bytes[this.at + 16] === 1 ? 'LOG_APPEND_TIME' : 'CREATE_TIME';
    this.at += 17;
    this.keyLength = this.span();
    this.keyAt = this.at - Math.max(this.keyLength, 0);
    this.valueLength = this.span();
    this.valueAt = this.at - Math.max(this.valueLength, 0);
    this.headerCount = bytes.readUInt16LE(this.at);
    this.at += 2;
  }

  header(): void {
    const keyLength = this.bytes.readUInt16LE(this.at);
    this.at += 2;
    this.headerKey = this.bytes.toString('utf8', this.at, this.at + keyLength);
    this.at += keyLength;
    this.headerLength = this.span();
    this.headerAt = this.at - Math.max(this.headerLength, 0);
  }

  /** A view of `length` bytes at `at` (null for -1). */
  view(at: number, length: number): Buffer | null {
    return length < 0 ? null : this.bytes.subarray(at, at + length);
  }

  /** Their base64 (null for -1), without a view in between. */
  base64(at: number, length: number): string | null {
    return length < 0 ? null : this.bytes.toString('base64', at, at + length);
  }

  end(): void {
    if (this.at !== this.bytes.length) {
      throw new RangeError(`unpackRecords: ${this.bytes.length - this.at} bytes left over`);
    }
  }

  private span(): number {
    const length = this.bytes.readInt32LE(this.at);
    this.at += 4 + Math.max(length, 0);
    return length;
  }
}

/** The records packRecords packed; keys, values and header values are views of `buffer`. */
export function unpackRecords(buffer: ArrayBuffer): KafkaRecord[] {
  const r = new PackedReader(buffer);
  const { topic, partition } = r;
  const records: KafkaRecord[] = [];
  for (let i = 0; i < r.count; i++) {
    r.next();
    const key = r.view(r.keyAt, r.keyLength);
    const value = r.view(r.valueAt, r.valueLength);
    const headers: KafkaHeader[] = [];
    for (let h = 0; h < r.headerCount; h++) {
      r.header();
      headers.push({ key: r.headerKey, value: r.view(r.headerAt, r.headerLength) ?? Buffer.alloc(0) });
    }
    const { offset, timestamp, timestampType } = r;
    records.push({ topic, partition, offset, timestamp, timestampType, key, value, headers });
  }
  r.end();
  return records;
}

/**
 * The event the trigger builds from the records packRecords packed (buildEvent(trigger, brokers,
 * unpackRecords(buffer)), equal to it): keys and values go from the packed bytes to base64 text
 * directly, without the record object and the two views unpackRecords makes for each.
 */
export function packedEvent(
  buffer: ArrayBuffer,
  trigger: Pick<TriggerDefinition, 'eventSource' | 'eventSourceArn'>,
  brokers: readonly string[],
): KafkaEvent {
  const r = new PackedReader(buffer);
  const { topic, partition } = r;
  const group: KafkaEventRecord[] = [];
  for (let i = 0; i < r.count; i++) {
    r.next();
    const key = r.base64(r.keyAt, r.keyLength);
    const value = r.base64(r.valueAt, r.valueLength);
    const headers: KafkaEventRecordHeader[] = [];
    for (let h = 0; h < r.headerCount; h++) {
      r.header();
      const bytes = r.view(r.headerAt, r.headerLength) ?? Buffer.alloc(0);
      headers.push(oneHeader(r.headerKey, toSignedBytes(bytes)));
    }
    group.push(eventRecord(topic, partition, r.offset, r.timestamp, r.timestampType, key, value, headers));
  }
  r.end();
  const records: Record<string, KafkaEventRecord[]> = {};
  records[`${topic}-${partition}`] = group;
  return wrapRecords(eventSource(trigger, brokers), records);
}
