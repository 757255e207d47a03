export { Base64Decoder, SLAB_BYTES } from './base64.ts';
export { asTick, REFRESH_TICK_VALUE, TICK_HEADER, TICK_HEADER_VALUE } from './control-records.ts';
export { decodeKafkaEvent } from './decode-event.ts';
export { describeValue, isPlainObject } from './decode-record.ts';
export type {
  DecodedKafkaEvent,
  KafkaEvent,
  KafkaEventRecord,
  KafkaEventRecordHeader,
  KafkaEventSource,
  KafkaHeader,
  KafkaRecord,
  MskEvent,
  PartitionBatch,
  SelfManagedKafkaEvent,
  TimestampType,
} from './types.ts';
