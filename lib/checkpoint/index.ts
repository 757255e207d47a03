export { emptyStoreStats } from './billing.ts';
export {
  committedItem,
  decodeMeta,
  decodePartition,
  EMPTY_MANIFEST,
  freshPartition,
  type MetaItem,
} from './codec.ts';
export {
  IMAGE_FORMAT,
  LAYOUT,
  LEGACY_IMAGE_FORMAT,
  PARTITIONS_CONTROL_VALUE,
  PARTITIONS_HEADER,
  PIECE_BYTES,
} from './constants.ts';
export { mapDynamoError } from './dynamo-errors.ts';
export { DynamoCheckpointStore, type DynamoStoreOptions } from './dynamodb-store.ts';
export {
  decodeImage,
  type EncodedImage,
  encodeImage,
  encodeUsers,
  readImageUsers,
  type StoredImage,
} from './image.ts';
export {
  type ImagePlan,
  manifestExpiry,
  nextManifest,
  pieceExpiresAt,
  planImage,
  snapshotStale,
} from './journal.ts';
export { partitionKey, pieceKey } from './keys.ts';
export { type PartitionSummary, readPartitionSummaries, readTopicSummary } from './summary.ts';
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
