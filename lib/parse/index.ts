export { parseRecord } from './parse-record.ts';
export { rejectLate, rejectRecord } from './rejections.ts';
export {
  NOT_INTEGER,
  OUT_OF_RANGE,
  parseMillis,
  trimField,
  UNSTORABLE,
  userIdLength,
} from './text-fields.ts';
export type { EventTimeSource, ParseOptions, ParseResult, Rejection, RejectReason } from './types.ts';
