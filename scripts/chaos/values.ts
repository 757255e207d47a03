/**
 * What the chaos producer writes, and what the judge expects of it, written by hand from the
 * documented format (docs/DESIGN.md section 2), not from the job's parser: a bug in lib/parse must
 * not be shared by the job and its judge.
 */
import type { RejectReason } from '../../lib/parse/index.ts';

/** A good value: "<user>,<event time in epoch ms>", e.g. "user_17,1767225600000". */
export function goodValue(user: number, eventTime: number): string {
  return `user_${user},${eventTime}`;
}

const GOOD = /^(user_[0-9]+),([0-9]+)$/;

/** The user and event time of a good value, or undefined for anything else. */
export function parseGoodValue(text: string): { userId: string; eventTime: number } | undefined {
  const match = GOOD.exec(text);
  if (match === null) return undefined;
  return { userId: match[1] as string, eventTime: Number(match[2]) };
}

/**
 * What a bad value becomes: rejected with `reason`, or, with EVENT_TIME_SOURCE=kafka (where the
 * payload's second field is not read and "<user>" alone is a valid value), an event of `userId`
 * at the record's Kafka timestamp.
 */
export type BadOutcome = { readonly reason: RejectReason } | { readonly userId: string };

export interface BadValue {
  readonly payload: BadOutcome;
  readonly kafka: BadOutcome;
}

/**
 * Every bad value the producer sends (about one record in a thousand, and the poison-timestamp
 * experiment's unparseable records), with the reason the input rules give it (docs/DESIGN.md
 * section 2).
 */
export const BAD_VALUES: Readonly<Record<string, BadValue>> = {
  // One field: no event time in payload mode; a bare user id in Kafka-time mode.
  garbage: { payload: { reason: 'wrong_field_count' }, kafka: { userId: 'garbage' } },
  // The second field is not an integer; in Kafka-time mode it is not read.
  'user_x,not-a-number': { payload: { reason: 'timestamp_not_integer' }, kafka: { userId: 'user_x' } },
  ',1000': { payload: { reason: 'empty_user_id' }, kafka: { reason: 'empty_user_id' } },
  // Three fields are wrong in both modes.
  'user_x,1,2': { payload: { reason: 'wrong_field_count' }, kafka: { reason: 'wrong_field_count' } },
  // JSON form, but userId is a number, not a string: its field has the wrong type (docs/DESIGN.md
  // section 2, field mapping), whichever the event time source.
  '{"userId": 1}': { payload: { reason: 'wrong_field_type' }, kafka: { reason: 'wrong_field_type' } },
  // A negative event time; in Kafka-time mode it is not read.
  'user_x,-5': { payload: { reason: 'timestamp_out_of_range' }, kafka: { userId: 'user_x' } },
};

export const BAD_TEXTS: readonly string[] = Object.keys(BAD_VALUES);

/**
 * The user a bad value may become (its Kafka-time user, or the text itself), and the partition its
 * records go to: all of a user's records in one partition, as the job requires (docs/DESIGN.md,
 * "Produce keyed by user id"). Sent to random partitions, two `user_x` values stamped in the same
 * millisecond open two sessions with one key in two partitions, and their rows collide.
 */
export function badKey(text: string): string {
  const kafka = BAD_VALUES[text]?.kafka;
  return kafka !== undefined && 'userId' in kafka ? kafka.userId : text;
}

export function badPartition(text: string, partitions: number): number {
  let hash = 0;
  for (const char of badKey(text)) hash = (Math.imul(hash, 31) + (char.codePointAt(0) as number)) >>> 0;
  return hash % partitions;
}

/**
 * The latest event time the job accepts (docs/DESIGN.md section 8: `[0, 253402300799999 - G]`):
 * 9999-12-31T23:59:59.999Z minus the gap, so that the session's end is a valid timestamp too.
 */
export function maxEventTime(gapMs: number): number {
  return Date.UTC(9999, 11, 31, 23, 59, 59, 999) - gapMs;
}

/**
 * Kafka timestamps at the edges, for the poison-timestamp experiment. The broker (CreateTime topic,
 * `message.timestamp.*.max.ms` unbounded) stores each as sent; kafkajs sends and reads them as
 * decimal strings. What the job makes of them (docs/DESIGN.md sections 2 and 8): a Kafka timestamp
 * is only the record's envelope; any whole number is kept, and a record is judged by its value:
 * - "-1" is Kafka's "no timestamp"; kafkajs sends it as it is;
 * - "0", "8640000000000001" (one past JavaScript's last Date, 8.64e15) and "9000000000000000" are
 *   safe integers;
 * - "9223372036854775807" (the largest long) is not: Lambda's JSON number (and the local trigger's,
 *   from kafkajs's string) reads as 2^63; the record still counts, as an event without a timestamp.
 * With event times from the payload every good value counts and every bad one gets its reason;
 * with EVENT_TIME_SOURCE=kafka the timestamp is the event time, so all but 0 are
 * `timestamp_out_of_range` (0 is 1970: late, once the partition's watermark has moved).
 */
export const POISON_TIMESTAMPS: readonly string[] = [
  '-1',
  '0',
  '8640000000000001',
  '9000000000000000',
  '9223372036854775807',
];
