import type { PartitionState, UserState } from '../engine/types.ts';

/**
 * An unfinished state transition on a partition: who claimed it and, for the idle sweep, the
 * watermark it advances to, so whoever comes next can redo exactly the same transition.
 */
export type Claim =
  | { readonly kind: 'batch'; readonly epoch: number; readonly claimedAt: number }
  | {
      readonly kind: 'sweep';
      readonly epoch: number;
      readonly claimedAt: number;
      readonly watermark: number;
    };

/** The partition's checkpoint item. */
export interface PartitionCheckpoint {
  readonly topic: string;
  readonly partition: number;
  /** Committed transitions so far (0: never committed). */
  readonly version: number;
  /** Claims so far; the fencing token of the current claim (DynamoDB items and the sink). */
  readonly epoch: number;
  /** Highest end offset any claim ever folded; the sweep waits until nextOffset reaches it. */
  readonly claimedThrough: number;
  readonly claim: Claim | null;
  readonly state: PartitionState;
}

/** A user's stored state: the engine's view plus the fencing epoch of the write. */
export interface StoredUser extends UserState {
  readonly epoch: number;
}

export interface ClaimRequest {
  readonly claim: Claim;
  /** The checkpoint as read: the claim succeeds only if nobody claimed since (same epoch). */
  readonly read: PartitionCheckpoint;
  readonly claimedThrough: number;
}

/** Counters for logs, metrics and the benchmark's cost per 1,000 events. */
export interface StoreStats {
  calls: number;
  itemsRead: number;
  itemsWritten: number;
}

/**
 * Where partition and user state live between invocations. DynamoCheckpointStore in
 * production; an in-memory store with the same semantics backs the crash property tests.
 */
export interface CheckpointStore {
  readonly stats: StoreStats;
  readPartition(topic: string, partition: number): Promise<PartitionCheckpoint>;
  /** Partitions of a topic that have ever committed (the sweep's work list). */
  listPartitions(topic: string): Promise<number[]>;
  /** Users of the partition with a session due at or before `watermark` (may lag: a hint). */
  queryDue(topic: string, partition: number, watermark: number): Promise<string[]>;
  readUsers(topic: string, partition: number, userIds: readonly string[]): Promise<Map<string, StoredUser>>;
  /** Takes the partition for a transition; throws CheckpointConflictError when someone else did. */
  claim(request: ClaimRequest): Promise<PartitionCheckpoint>;
  /** Writes user states fenced by `epoch`; throws CheckpointConflictError if a newer epoch wrote. */
  writeUsers(
    topic: string,
    partition: number,
    epoch: number,
    users: readonly UserState[],
    nowMs: number,
  ): Promise<void>;
  /** Commits the new partition state and releases the claim, if the claim is still ours. */
  commit(claimed: PartitionCheckpoint, state: PartitionState): Promise<PartitionCheckpoint>;
}
