export { type BuildKafkaEventInput, buildKafkaEvent } from './build.ts';
export { decodeKafkaEvent } from './decode.ts';
export { parseRecord } from './parse.ts';
export { rejectLate, rejectRecord } from './reject.ts';
export {
  asTick,
  REFRESH_TICK_VALUE,
  TICK_HEADER,
  TICK_HEADER_VALUE,
  type TickKind,
  tickMessage,
} from './tick.ts';
export type {
  DecodedKafkaEvent,
  EventTimeSource,
  KafkaEvent,
  KafkaEventRecord,
  KafkaEventRecordHeader,
  KafkaEventSource,
  KafkaHeader,
  KafkaRecord,
  MskEvent,
  ParseOptions,
  ParseResult,
  PartitionBatch,
  Rejection,
  RejectReason,
  SelfManagedKafkaEvent,
  TimestampType,
} from './types.ts';
