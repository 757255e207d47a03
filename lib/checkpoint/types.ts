import type { PartitionState, PartitionStats } from '../engine/index.ts';
import type { EncodedImage, StoredImage } from './image.ts';

/** The `meta` item: which layout the table holds and its generation (docs/STATE.md section 5). */
export interface TableMeta {
  readonly layout: number;
  /** `<ISO time>/<random>`: later generations sort later. Written into every sink fence. */
  readonly generation: string;
  readonly createdAt: number;
  /** How the generation came to be: the job's first use of an empty table, or an operator's command. */
  readonly origin: 'first-use' | 'new-generation' | 'adopted';
  /**
   * The settings the state was built with (docs/STATE.md section 5). Absent in a table written
   * by release 0.1.0: the first job to read it records its own.
   */
  readonly settings?: RecordedSettings;
  /**
   * The topic's partition count the state was built with (docs/DEPLOY.md, "Adding partitions"):
   * recorded by the job from the sweep's `partitions` control record, and by `npm run checkpoint`.
   * Absent until then. A different count means users' keys moved between partitions.
   */
  readonly partitions?: number;
}

/**
 * The settings that decide what the rows hold and which records are rejected. State built under
 * one set and folded on under another would count wrongly (a session cut by one gap, extended by
 * another), so the job refuses to go on when they differ (docs/OPERATIONS.md, changing settings).
 * The idle flush is not among them: it decides when rows appear, never what they hold.
 */
export interface RecordedSettings {
  readonly gapMs: number;
  readonly outOfOrdernessMs: number;
  readonly allowedLatenessMs: number;
  readonly eventTimeSource: 'payload' | 'kafka';
  /** MAX_FUTURE_MS; null = no future-timestamp guard. */
  readonly maxFutureMs: number | null;
  /**
   * The field mapping (USER_ID_FIELD, EVENT_TIME_FIELD, EVENT_TIME_UNIT; docs/DESIGN.md section 2):
   * which part of a value is the user and which its time. Folding on under another mapping would
   * mix users and times read one way with users and times read another. A table whose settings
   * were recorded before these existed was built with the defaults (codec.ts reads them so).
   */
  readonly userIdField: string;
  readonly eventTimeField: string;
  readonly eventTimeUnit: 'ms' | 's';
}

/** Where a state image lives: `pieces` items keyed by the claim (version, epoch) that wrote it. */
export interface ImageRef {
  readonly version: number;
  readonly epoch: number;
  readonly pieces: number;
  /** Compressed bytes, for the snapshot-or-delta decision and the cost counters. */
  readonly bytes: number;
  /** Wall-clock time of the write (epoch ms): a snapshot is rewritten before its pieces' TTL. */
  readonly writtenAt: number;
  /** How the image is encoded (IMAGE_FORMAT; 1 for images written before format 2). */
  readonly format: number;
  /**
   * When its pieces expire (epoch seconds, their `expiresAt`: pieceExpiresAt); null for images
   * written before it was recorded. The rewrite rule reads it (snapshotStale), not the setting.
   */
  readonly expiresAt: number | null;
}

/** The images that make up the partition's user state: a snapshot, then the deltas since, in order. */
export interface Manifest {
  readonly snapshot: ImageRef | null;
  readonly journal: readonly ImageRef[];
}

/** An unfinished transition: its claim epoch and when it was taken. */
export interface Claim {
  readonly epoch: number;
  readonly at: number;
}

/** The partition item. */
export interface PartitionCheckpoint {
  readonly topic: string;
  readonly partition: number;
  /** Random id fixed when the item was created; part of every piece key (keys.ts). */
  readonly lineage: string;
  /** Committed transitions so far (0: never committed). */
  readonly version: number;
  /** Claims so far: the fencing token of the current claim (the commit condition and the sink). */
  readonly epoch: number;
  readonly claim: Claim | null;
  readonly state: PartitionState;
  readonly manifest: Manifest;
  readonly stats: PartitionStats;
  /** Wall-clock time of the last commit (epoch ms); null = never. */
  readonly committedAt: number | null;
  /**
   * Wall-clock time of the last commit that applied a record other than a tick (epoch ms), by the
   * job's clock: the sweep measures the partition's quiet from it (docs/STATE.md section 1).
   */
  readonly lastRecordAt: number | null;
  /**
   * Bytes the committing container's engine held for this partition, estimated (status; a cold
   * load's memory check): docs/DEPLOY.md, "Sizing". Null in items written before it was recorded.
   */
  readonly memoryBytes: number | null;
}

/** What a commit writes besides the version: the fold's new state and where the users now live. */
export interface Commit {
  readonly state: PartitionState;
  readonly manifest: Manifest;
  readonly stats: PartitionStats;
  readonly committedAt: number;
  readonly lastRecordAt: number | null;
  /** The engine's estimated bytes after the transition (PartitionCheckpoint.memoryBytes). */
  readonly memoryBytes?: number;
}

/** Counters for logs, metrics and the benchmark's cost per 1,000 events (DynamoDB's billing units). */
export interface StoreStats {
  calls: number;
  itemsRead: number;
  itemsWritten: number;
  /** Read request units: strongly consistent reads cost 1 per 4 KB of each item, rounded up. */
  readUnits: number;
  /** Write request units: 1 per KB of each item written, rounded up. */
  writeUnits: number;
  bytesRead: number;
  bytesWritten: number;
}

/**
 * Where the checkpoint lives between invocations. DynamoCheckpointStore in production; an
 * in-memory store with the same conditions backs the crash property tests.
 */
export interface CheckpointStore {
  readonly stats: StoreStats;
  /** The table's `meta` item; null when there is none (an empty or foreign table). */
  readMeta(): Promise<TableMeta | null>;
  /** Writes `meta` unless one exists; returns the one that is there afterwards (ours or the winner's). */
  createMeta(meta: TableMeta): Promise<TableMeta>;
  /** Overwrites `meta` (operator commands: new-generation, adopt). */
  replaceMeta(meta: TableMeta): Promise<void>;
  /**
   * Records the settings in a `meta` of `generation` that has none (a table of release 0.1.0);
   * returns the `meta` that is there afterwards (with ours, or with another container's).
   */
  recordSettings(generation: string, settings: RecordedSettings): Promise<TableMeta | null>;
  /**
   * Records the topic's partition count in `meta` of `generation` (the job, from the sweep's
   * control record); returns the count recorded before (undefined: none), or null when `meta` is
   * of another generation or gone (nothing written).
   */
  recordPartitions(generation: string, partitions: number): Promise<number | undefined | null>;
  /** `meta` and several partition items at once, in one BatchGetItem (the sweep's only read). */
  readTopic(
    topic: string,
    partitions: readonly number[],
  ): Promise<{ meta: TableMeta | null; partitions: (PartitionCheckpoint | null)[] }>;
  /** Whether the table holds items of the earlier per-user layout for this topic. */
  hasLegacyItems(topic: string): Promise<boolean>;
  /** The partition item (strongly consistent); null when there is none. */
  readPartition(topic: string, partition: number): Promise<PartitionCheckpoint | null>;
  /** Several partition items at once (the sweep, status); null where there is none. */
  readPartitions(topic: string, partitions: readonly number[]): Promise<(PartitionCheckpoint | null)[]>;
  /**
   * Takes the partition for a transition: epoch + 1 and a claim, conditional on `expected` (the
   * version, epoch and lineage believed current), or on there being no item when `expected` is null
   * (a new partition, created with `lineage`). Throws CheckpointConflictError when the condition
   * fails, with the partition as the winner left it in `current` when the store has it.
   */
  claim(
    topic: string,
    partition: number,
    expected: PartitionCheckpoint | null,
    claim: Claim,
    lineage: string,
  ): Promise<PartitionCheckpoint>;
  /**
   * The images the manifest lists, in its order, each as its pieces (decoded piece by piece:
   * image.ts); CheckpointLostError if a piece is missing.
   */
  readImages(checkpoint: PartitionCheckpoint): Promise<StoredImage[]>;
  /** Writes an image's pieces under the claim's keys (never overwriting anything committed). */
  writeImage(claimed: PartitionCheckpoint, image: EncodedImage, nowMs: number): Promise<ImageRef>;
  /** Commits the new state and manifest (version + 1, claim removed) if the claim is still ours. */
  commit(claimed: PartitionCheckpoint, commit: Commit): Promise<PartitionCheckpoint>;
}
