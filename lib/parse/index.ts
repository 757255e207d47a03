export { NO_ZONE, parseIsoMillis, timeFromNumber, timeFromText } from './event-time.ts';
export { DEFAULT_FIELDS, fieldOptions, fieldPathProblem } from './fields.ts';
export { parseRecord } from './parse-record.ts';
export { rejectLate, rejectRecord } from './rejections.ts';
export { SchemaValueDecoder } from './schema-values.ts';
export {
  NOT_INTEGER,
  OUT_OF_RANGE,
  parseMillis,
  trimField,
  UNSTORABLE,
  userIdLength,
} from './text-fields.ts';
export type {
  DecodedValue,
  EventTimeSource,
  EventTimeUnit,
  FieldMapping,
  FieldOptions,
  FieldPath,
  ParseOptions,
  ParseResult,
  Rejection,
  RejectReason,
  SchemaSettings,
  ValueDecoder,
  ValueFormat,
  ValueSettings,
} from './types.ts';
export { loadValueSchema, type ValueSchema } from './value-schema.ts';
export { readWireHeader, type WireHeader } from './wire-format.ts';
