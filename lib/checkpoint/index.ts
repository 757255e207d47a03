export { LAYOUT } from './constants.ts';
export { mapDynamoError } from './dynamo-errors.ts';
export { DynamoCheckpointStore, type DynamoStoreOptions } from './dynamodb-store.ts';
export { applyImages, decodeImage, encodeImage } from './image.ts';
export { type ImagePlan, nextManifest, planImage, snapshotStale } from './journal.ts';
export { type PartitionSummary, readPartitionSummaries } from './summary.ts';
export { checkpointTableDefinition, ensureCheckpointTable, TTL_ATTRIBUTE } from './table.ts';
export type {
  CheckpointStore,
  Claim,
  Commit,
  ImageRef,
  Manifest,
  PartitionCheckpoint,
  RecordedSettings,
  StoreStats,
  TableMeta,
} from './types.ts';
