import type { TickRecord } from '../engine/index.ts';
import type { KafkaRecord } from './types.ts';

/**
 * Control records functions/sweep.ts appends to a partition, marked by this header, with a null
 * value (consumers that parse values should skip null values anyway: they are tombstones to
 * everyone else). Two kinds (docs/STATE.md section 1):
 * - `idle-tick`: the partition has been quiet; the job writes its unwritten sessions early
 *   (docs/DESIGN.md section 4);
 * - `refresh-tick`: the partition's state snapshot is getting old; reading it is a transition,
 *   which rewrites the snapshot. It writes no row.
 * A record with the header and any other value is a control record too, and does nothing.
 */
export const TICK_HEADER = 'sessionizer-control';
export const TICK_HEADER_VALUE = 'idle-tick';
export const REFRESH_TICK_VALUE = 'refresh-tick';

const IDLE = Buffer.from(TICK_HEADER_VALUE);

/**
 * What a control record asks of the fold: an idle tick for the fold, or null for any other
 * control record (nothing to fold); undefined for anything else (events, garbage, foreign
 * tombstones, a record with a value that carries the header: control records have none, and one
 * whose envelope is broken), which the parser judges.
 */
export function asTick(record: KafkaRecord): TickRecord | null | undefined {
  if (record.value !== null || record.envelopeFault !== undefined) return undefined;
  let control = false;
  for (const header of record.headers) {
    if (header.key !== TICK_HEADER) continue;
    if (header.value.equals(IDLE)) return { offset: record.offset, tick: true, timestamp: record.timestamp };
    control = true;
  }
  return control ? null : undefined;
}
