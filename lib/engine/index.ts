export { type AdvanceInput, advanceTo } from './advance.ts';
export { MAX_EVENT_TIME_MS, MAX_GROUP_KEY_LENGTH, MAX_USER_ID_LENGTH } from './constants.ts';
export { nextDue } from './due.ts';
export { fold } from './fold.ts';
export { groupKey } from './group-key.ts';
export type {
  EmittedSession,
  EngineConfig,
  EventRecord,
  FoldInput,
  FoldResult,
  LateEvent,
  PartitionState,
  Session,
  SupersededSession,
  UserState,
} from './types.ts';
export { idleWatermark, initialPartitionState, watermarkAfter } from './watermark.ts';
