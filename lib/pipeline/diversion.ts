import type { KafkaRecord } from '../decode/index.ts';
import type { Rejection } from '../parse/index.ts';

/**
 * A record the sink refused, diverted to rejected_events with reason `unwritable` instead of being
 * folded. `bare`: its first rejection was refused too, so it is stored with nothing of its own but
 * its coordinates.
 */
export interface Diversion {
  readonly detail: string;
  readonly bare: boolean;
}

/** Diversions of one partition batch, by offset. */
export type Diversions = Map<number, Diversion>;

/**
 * The rejection of a diverted record: its value as base64 and the sink's message in printable
 * ASCII (nothing a text column or an encoding can refuse); a bare one keeps neither.
 */
export function divertedRejection(record: KafkaRecord, diversion: Diversion): Rejection {
  const base = {
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    kafkaTimestamp: Number.isSafeInteger(record.timestamp) ? record.timestamp : -1,
    reason: 'unwritable' as const,
  };
  if (diversion.bare) {
    return {
      ...base,
      rawValue: '',
      rawEncoding: 'base64',
      detail: 'PostgreSQL refused this record twice, the second time without its value; value not stored',
    };
  }
  return {
    ...base,
    rawValue: record.value === null ? '' : record.value.toString('base64'),
    rawEncoding: 'base64',
    detail: `PostgreSQL refused what this record made the batch write: ${printable(diversion.detail)}`,
  };
}

/** Printable ASCII only (the rest as \uXXXX), at most 500 characters. */
function printable(text: string): string {
  let out = '';
  for (const char of text.slice(0, 500)) {
    const code = char.charCodeAt(0);
    out += code >= 0x20 && code < 0x7f ? char : `\\u${code.toString(16).padStart(4, '0')}`;
  }
  return out;
}
