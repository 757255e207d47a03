/**
 * What parsing a record's value gives: an event for the engine, or a rejection with its reason
 * (docs/DESIGN.md section 2), and the options that decide which.
 */

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

export interface ParseOptions {
  /** 'kafka' takes the Kafka record timestamp, for events typed by hand; the payload's is ignored. */
  readonly eventTimeSource: EventTimeSource;
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
