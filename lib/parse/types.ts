/**
 * What parsing a record's value gives: an event for the engine, or a rejection with its reason
 * (docs/DESIGN.md section 2), and the options that decide which.
 */

import type { KafkaRecord } from '../decode/index.ts';
import type { EventRecord } from '../engine/index.ts';

/** Why a record was not counted (docs/DESIGN.md section 2). Stored in `rejected_events.reason`. */
export type RejectReason =
  | 'not_utf8'
  | 'empty'
  | 'wrong_field_count'
  | 'bad_json'
  | 'empty_user_id'
  /** Contains U+0000 or a lone surrogate: characters a PostgreSQL text column cannot hold. */
  | 'bad_user_id'
  | 'user_id_too_long'
  | 'timestamp_not_integer'
  | 'timestamp_out_of_range'
  /** An ISO-8601 date and time without "Z" or an offset: it names no instant. */
  | 'timestamp_without_zone'
  /** The user-id or event-time path (USER_ID_FIELD, EVENT_TIME_FIELD) leads nowhere in the value. */
  | 'missing_field'
  /** The value at the user-id or event-time path is not a string, resp. a number, string or ISO time. */
  | 'wrong_field_type'
  /** The value's schema registry header names a schema id this job was not given (VALUE_SCHEMA_IDS). */
  | 'unknown_schema_id'
  /** The value's bytes are not a record of the configured Avro or Protobuf schema, or have no header. */
  | 'schema_mismatch'
  /** Its session had already closed when it arrived (docs/DESIGN.md section 3, rule 5). */
  | 'late'
  /** The record's envelope in the Lambda event is broken (KafkaRecord.envelopeFault says how). */
  | 'bad_envelope'
  /** Its event time is more than MAX_FUTURE_MS ahead of its Kafka record timestamp (off by default). */
  | 'future'
  /**
   * PostgreSQL (or the sink's encoding) refused, deterministically, what this record made the
   * batch write: diverted so the rest of the batch goes on (lib/pipeline/isolate.ts).
   */
  | 'unwritable';

/** A row of `rejected_events`: the record's coordinates, its raw bytes and why it was refused. */
export interface Rejection {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** The Kafka record timestamp (epoch ms; -1 for none; any whole number a broker accepted). */
  readonly kafkaTimestamp: number;
  /**
   * The value as text when its bytes are valid UTF-8 without NUL (PostgreSQL text cannot hold
   * U+0000), otherwise base64. A tombstone is '' with 'utf8'.
   */
  readonly rawValue: string;
  readonly rawEncoding: 'utf8' | 'base64';
  readonly reason: RejectReason;
  /** A sentence for the person reading the table; never contains U+0000. */
  readonly detail: string;
}

/** Where a record's event time comes from (docs/DESIGN.md section 2). */
export type EventTimeSource = 'payload' | 'kafka';

/** The unit of a numeric event time in the payload (EVENT_TIME_UNIT): epoch milliseconds or seconds. */
export type EventTimeUnit = 'ms' | 's';

/**
 * Where the user id and the event time are in an object value (JSON, or a decoded Avro or
 * Protobuf record), as the settings write them: USER_ID_FIELD, EVENT_TIME_FIELD (dotted paths, e.g.
 * "user.id") and EVENT_TIME_UNIT. They decide the rows, so the checkpoint records them.
 */
export interface FieldMapping {
  readonly userIdField: string;
  readonly eventTimeField: string;
  readonly eventTimeUnit: EventTimeUnit;
}

/** A field path cut into its parts once, with its name as written for rejection details. */
export interface FieldPath {
  readonly name: string;
  readonly segments: readonly string[];
}

/** FieldMapping as the parser walks it (fieldOptions() builds it once per batch). */
export interface FieldOptions {
  readonly userId: FieldPath;
  readonly eventTime: FieldPath;
  readonly unit: EventTimeUnit;
}

/**
 * What a schema decoder (lib/parse/schema-values.ts) made of a record's value before parsing: the
 * decoded object as plain data, or the rejection that says why there is none.
 */
export type DecodedValue =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly rejection: Rejection };

/** How a record's value is written (VALUE_FORMAT; docs/DESIGN.md section 2). */
export type ValueFormat = 'text' | 'avro' | 'protobuf';

/** A schema format's settings: the schema file in the package and the registry ids it stands for. */
export interface SchemaSettings {
  readonly format: 'avro' | 'protobuf';
  /** VALUE_SCHEMA_FILE: an .avsc or .proto file, relative to the package root (the working directory). */
  readonly schemaFile: string;
  /** VALUE_SCHEMA_MESSAGE: the Protobuf message of the value; undefined = the file's only message. */
  readonly schemaMessage: string | undefined;
  /** VALUE_SCHEMA_IDS: Confluent schema ids (decimal) and Glue schema version ids (lowercase UUIDs). */
  readonly schemaIds: readonly string[];
}

/** The value settings: text (the two-field form or JSON), or a schema format. */
export type ValueSettings = { readonly format: 'text' } | SchemaSettings;

/**
 * Decodes the values of a schema format for the parser, a batch at a time (schema-values.ts). The
 * result has an entry for every record with a non-empty value and a sound envelope.
 */
export interface ValueDecoder {
  decode(records: readonly KafkaRecord[]): Promise<ReadonlyMap<number, DecodedValue>>;
}

export interface ParseOptions {
  /** 'kafka' takes the Kafka record timestamp, for events typed by hand; the payload's is ignored. */
  readonly eventTimeSource: EventTimeSource;
  /** Where the user id and the event time are in an object value; undefined = DEFAULT_FIELDS. */
  readonly fields?: FieldOptions | undefined;
  /** Longest user id in code points: "<userId>|<24-char ISO start>" must fit group_key VARCHAR(255). */
  readonly maxUserIdLength: number;
  /** Latest accepted event time (epoch ms). */
  readonly maxEventTimeMs: number;
  /**
   * The future-timestamp guard (MAX_FUTURE_MS): how far a payload's event time may be ahead of the
   * record's Kafka timestamp before the record is rejected as `future`. Undefined: no guard, as in
   * Flink, where one record stamped in year 9999 moves the watermark there for good.
   */
  readonly maxFutureMs?: number | undefined;
}

export type ParseResult =
  | { readonly ok: true; readonly event: EventRecord }
  | { readonly ok: false; readonly rejection: Rejection };
