export { MAX_EVENT_TIME_MS, MAX_GROUP_KEY_LENGTH, MAX_USER_ID_LENGTH } from './constants.ts';
export { EmittedSessions } from './emitted.ts';
export { fold, PartitionLoader, PartitionSessions } from './fold.ts';
export { groupKey } from './group-key.ts';
export { DeadlineHeap } from './heap.ts';
export {
  type ChangedUsersView,
  type EmittedSession,
  type EngineConfig,
  type EventRecord,
  type FoldInput,
  type FoldResult,
  isTick,
  type LateEvent,
  type LogRecord,
  type PartitionState,
  type PartitionStats,
  type Session,
  type SupersededSession,
  type TickRecord,
  type UserState,
  type UserVisitor,
} from './types.ts';
export { initialPartitionState, recordWatermark } from './watermark.ts';
