/**
 * A batch of one partition's records as one ArrayBuffer, for the end-to-end tier's hand-over from
 * the trigger (the main thread) to the partition's handler (a worker thread): the buffer is
 * transferred, not copied, and the handler's thread builds the event Lambda would deliver from the
 * records (offline/event.ts, buildEvent), as Lambda's runtime builds it from the Runtime API's
 * JSON in the function's own container. A structured clone of the built event costs the two
 * threads about 2 us of CPU per record more (docs/BENCHMARKS.md, "The hand-over").
 *
 * Layout, little-endian: topic (u16 length, UTF-8), partition (u32), record count (u32); then per
 * record offset and timestamp (f64), timestampType (u8: 1 LOG_APPEND_TIME), key and value (i32
 * length, -1 for null, then the bytes), header count (u16) and each header's key (u16 length,
 * UTF-8) and value (i32 length, bytes).
 */
import type { KafkaHeader, KafkaRecord } from '../../lib/decode/index.ts';

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

/** The records packRecords packed; keys, values and header values are views of `buffer`. */
export function unpackRecords(buffer: ArrayBuffer): KafkaRecord[] {
  const bytes = Buffer.from(buffer);
  const topicLength = bytes.readUInt16LE(0);
  let at = 2;
  const topic = bytes.toString('utf8', at, at + topicLength);
  at += topicLength;
  const partition = bytes.readUInt32LE(at);
  const count = bytes.readUInt32LE(at + 4);
  at += 8;
  const records: KafkaRecord[] = [];
  const take = (): Buffer | null => {
    const length = bytes.readInt32LE(at);
    at += 4;
    if (length < 0) return null;
    at += length;
    return bytes.subarray(at - length, at);
  };
  for (let i = 0; i < count; i++) {
    const offset = bytes.readDoubleLE(at);
    const timestamp = bytes.readDoubleLE(at + 8);
    const timestampType = bytes[at + 16] === 1 ? 'LOG_APPEND_TIME' : 'CREATE_TIME';
    at += 17;
    const key = take();
    const value = take();
    const headerCount = bytes.readUInt16LE(at);
    at += 2;
    const headers: KafkaHeader[] = [];
    for (let h = 0; h < headerCount; h++) {
      const keyLength = bytes.readUInt16LE(at);
      at += 2;
      const name = bytes.toString('utf8', at, at + keyLength);
      at += keyLength;
      headers.push({ key: name, value: take() ?? Buffer.alloc(0) });
    }
    records.push({ topic, partition, offset, timestamp, timestampType, key, value, headers });
  }
  if (at !== bytes.length) throw new RangeError(`unpackRecords: ${bytes.length - at} bytes left over`);
  return records;
}
