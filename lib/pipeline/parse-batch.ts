import { asTick, type KafkaRecord } from '../decode/index.ts';
import { type LogRecord, MAX_EVENT_TIME_MS, MAX_USER_ID_LENGTH } from '../engine/index.ts';
import {
  DEFAULT_FIELDS,
  type DecodedValue,
  fieldOptions,
  type ParseOptions,
  parseRecord,
  type Rejection,
} from '../parse/index.ts';
import { type Diversions, divertedRejection } from './diversion.ts';
import type { PipelineSettings } from './types.ts';

export interface ParsedBatch {
  /** Events and idle ticks, in offset order, for the fold. */
  readonly log: LogRecord[];
  readonly rejections: Rejection[];
  /** Control records read (idle ticks, refresh ticks): neither counted nor rejected. */
  readonly ticks: number;
}

export function parseOptions(settings: PipelineSettings): ParseOptions {
  return {
    eventTimeSource: settings.eventTimeSource,
    fields: fieldOptions(settings.fields ?? DEFAULT_FIELDS),
    maxUserIdLength: MAX_USER_ID_LENGTH,
    // The session end (t + G) must stay a valid timestamp too.
    maxEventTimeMs: MAX_EVENT_TIME_MS - settings.engine.gapMs,
    maxFutureMs: settings.maxFutureMs,
  };
}

/** What the schema decoder made of a batch's values (lib/parse/schema-values.ts), by offset. */
export type DecodedValues = ReadonlyMap<number, DecodedValue>;

/**
 * A partition's fresh records as the fold reads them: records the sink refused (`diversions`,
 * lib/pipeline/isolate.ts) rejected as `unwritable`, ticks recognised, bad records rejected.
 * `decoded`: the values of a schema format (VALUE_FORMAT avro or protobuf), decoded before the
 * fold, since decoding is asynchronous and the fold is not (docs/DESIGN.md section 2).
 */
export function parseBatch(
  records: readonly KafkaRecord[],
  options: ParseOptions,
  diversions?: Diversions,
  decoded?: DecodedValues,
): ParsedBatch {
  const log: LogRecord[] = [];
  const rejections: Rejection[] = [];
  let ticks = 0;
  for (const record of records) {
    const diversion = diversions?.get(record.offset);
    if (diversion !== undefined) {
      rejections.push(divertedRejection(record, diversion));
      continue;
    }
    const tick = asTick(record);
    if (tick !== undefined) {
      if (tick !== null) log.push(tick);
      ticks++;
      continue;
    }
    const parsed = parseRecord(record, options, decoded?.get(record.offset));
    if (parsed.ok) log.push(parsed.event);
    else rejections.push(parsed.rejection);
  }
  return { log, rejections, ticks };
}
