export { emptyStoreStats } from './billing.ts';
export {
  committedItem,
  decodeMeta,
  decodePartition,
  EMPTY_MANIFEST,
  freshPartition,
  type MetaItem,
} from './codec.ts';
export { LAYOUT, PIECE_BYTES } from './constants.ts';
export { mapDynamoError } from './dynamo-errors.ts';
export { DynamoCheckpointStore, type DynamoStoreOptions } from './dynamodb-store.ts';
export { applyImages, decodeImage, encodeImage, toPieces } from './image.ts';
export { type ImagePlan, nextManifest, planImage, snapshotStale } from './journal.ts';
export { partitionKey, pieceKey } from './keys.ts';
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
