import { inflateSync } from 'node:zlib';

/**
 * The schema registry wire formats a producer's serializer writes before the Avro or Protobuf
 * bytes (docs/DESIGN.md section 2, "Schema formats"). The triggers that hand the function the raw
 * record (`msk`, `kafka`, the local trigger) leave the header in; the registry integration of the
 * event source mapping (`msk-esm`) would strip it, which is what this does here, so that the
 * Powertools Kafka consumer gets what it expects from a mapping with a registry (the payload, and
 * the schema id as the record's valueSchemaMetadata).
 *
 * - Confluent: byte 0x00, the schema id as a 4-byte big-endian integer, then the payload (for
 *   Protobuf, the message indexes first, which the Powertools deserializer skips).
 * - AWS Glue: byte 0x03 (the header version), a compression byte (0x00 none, 0x05 zlib), the
 *   schema version id as a 16-byte UUID, then the payload (for Protobuf, one message index varint
 *   first, which the Powertools deserializer skips). A zlib payload is inflated here.
 */
export interface WireHeader {
  readonly registry: 'confluent' | 'glue';
  /** The Confluent schema id as decimal text, or the Glue schema version id as a lowercase UUID. */
  readonly schemaId: string;
  /** The bytes after the header, inflated when the producer compressed them. */
  readonly payload: Buffer;
}

const CONFLUENT_MAGIC = 0x00;
const GLUE_HEADER_VERSION = 0x03;
const GLUE_UNCOMPRESSED = 0x00;
const GLUE_ZLIB = 0x05;
/** An inflated payload larger than Lambda's whole 6 MB event is no record anyone sent. */
const MAX_INFLATED_BYTES = 6 * 1024 * 1024;

/** The header of `value`, or a sentence saying why it has none that can be read. */
export function readWireHeader(value: Buffer): WireHeader | string {
  const first = value[0];
  if (first === CONFLUENT_MAGIC && value.length >= 5) {
    return { registry: 'confluent', schemaId: String(value.readUInt32BE(1)), payload: value.subarray(5) };
  }
  if (first === GLUE_HEADER_VERSION && value.length >= 18) {
    const schemaId = uuid(value.subarray(2, 18));
    const compression = value[1];
    if (compression === GLUE_UNCOMPRESSED) return { registry: 'glue', schemaId, payload: value.subarray(18) };
    if (compression !== GLUE_ZLIB) {
      return `its AWS Glue header names compression ${compression}, neither 0 (none) nor 5 (zlib)`;
    }
    try {
      const payload = inflateSync(value.subarray(18), { maxOutputLength: MAX_INFLATED_BYTES });
      return { registry: 'glue', schemaId, payload };
    } catch (error) {
      return `its AWS Glue header says zlib, but the payload does not inflate: ${(error as Error).message}`;
    }
  }
  return (
    `it does not start with a schema registry header (Confluent: byte 0 and a 4-byte schema id; ` +
    `AWS Glue: byte 3, a compression byte and a 16-byte schema version id): ${value.length} byte(s) ` +
    `starting ${value.subarray(0, 8).toString('hex')}`
  );
}

/** 16 bytes as the canonical 8-4-4-4-12 text, lowercase, as Glue writes schema version ids. */
function uuid(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The message indexes a Protobuf payload starts with, which name the message of the .proto file
 * the record is, and the payload after them. Confluent: a zigzag varint count, then that many
 * zigzag varints, the path of positions from the file's top-level messages down (the count 0
 * alone stands for the path [0]). AWS Glue: one unsigned varint, the message's position among all
 * the file's messages, nested ones included, sorted by full name (awslabs/aws-glue-schema-registry,
 * MessageIndexFinder). Read here rather than by the Powertools deserializer, which skips them by
 * guessing the encoding, so that a record of another message of the file is refused, not decoded
 * as this one.
 */
export function readMessageIndexes(
  payload: Buffer,
  registry: WireHeader['registry'],
): { indexes: number[]; rest: Buffer } | string {
  const cursor = { at: 0 };
  if (registry === 'glue') {
    const index = readVarint(payload, cursor);
    if (index < 0) return 'its Protobuf message index is cut off';
    return { indexes: [index], rest: payload.subarray(cursor.at) };
  }
  const count = readVarint(payload, cursor);
  if (count < 0) return 'its Protobuf message indexes are cut off';
  const n = unzigzag(count);
  if (n === 0) return { indexes: [0], rest: payload.subarray(cursor.at) };
  if (n < 0 || n > 100) return `its Protobuf message index count ${n} is not a count`;
  const indexes: number[] = [];
  for (let i = 0; i < n; i++) {
    const index = readVarint(payload, cursor);
    if (index < 0) return 'its Protobuf message indexes are cut off';
    indexes.push(unzigzag(index));
  }
  return { indexes, rest: payload.subarray(cursor.at) };
}

/** An unsigned varint of at most 5 bytes at cursor.at (advanced past it), or -1 when cut off. */
function readVarint(bytes: Buffer, cursor: { at: number }): number {
  let value = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    const byte = bytes[cursor.at++];
    if (byte === undefined) return -1;
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return value;
  }
  return -1;
}

function unzigzag(value: number): number {
  return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
}
