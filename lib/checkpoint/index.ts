export { DynamoCheckpointStore, type DynamoStoreOptions } from './dynamodb-store.ts';
export { mapDynamoError } from './errors.ts';
export { type PartitionSummary, readPartitionSummaries } from './summary.ts';
export { checkpointTableDefinition, DUE_INDEX, ensureCheckpointTable, TTL_ATTRIBUTE } from './table.ts';
export type {
  CheckpointStore,
  Claim,
  ClaimRequest,
  PartitionCheckpoint,
  StoredUser,
  StoreStats,
} from './types.ts';
