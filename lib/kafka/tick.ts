import type { TickRecord } from '../engine/types.ts';
import type { KafkaRecord } from './types.ts';

/**
 * The idle tick (DESIGN.md section 4): a control record functions/sweep.ts appends to a quiet
 * partition, marked by this header, with a null value (consumers that parse values should skip
 * null values anyway: they are tombstones to everyone else). Its Kafka timestamp is all it says.
 */
export const TICK_HEADER = 'sessionizer-control';
export const TICK_HEADER_VALUE = 'idle-tick';

const MARK = Buffer.from(TICK_HEADER_VALUE);

/** The tick a record is, or undefined for any other record (events, garbage, foreign tombstones). */
export function asTick(record: KafkaRecord): TickRecord | undefined {
  for (const header of record.headers) {
    if (header.key === TICK_HEADER && header.value.equals(MARK)) {
      return { offset: record.offset, tick: true, timestamp: record.timestamp };
    }
  }
  return undefined;
}

/** A tick as kafkajs sends it (the sweep's producer). The broker or producer stamps the time. */
export function tickMessage(partition: number): {
  partition: number;
  value: null;
  headers: Record<string, string>;
} {
  return { partition, value: null, headers: { [TICK_HEADER]: TICK_HEADER_VALUE } };
}
