import type { CheckpointStore, PartitionCheckpoint } from '../checkpoint/index.ts';
import type { EngineConfig, PartitionSessions } from '../engine/index.ts';
import type { EventTimeSource, FieldMapping, RejectReason, ValueDecoder } from '../parse/index.ts';
import type { Sink } from '../sink/index.ts';

/** What a transition needs: the stores behind interfaces, settings, the clock, the container's memory. */
export interface PipelineDeps {
  readonly store: CheckpointStore;
  readonly sink: Sink;
  /** Decodes Avro or Protobuf values before the fold (VALUE_FORMAT); undefined for text values. */
  readonly values?: ValueDecoder | undefined;
  readonly settings: PipelineSettings;
  readonly now: () => number;
  /** What this container remembers between invocations (createWarmState, once per container). */
  readonly warm: WarmState;
}

export interface PipelineSettings {
  readonly engine: EngineConfig;
  readonly eventTimeSource: EventTimeSource;
  /** USER_ID_FIELD, EVENT_TIME_FIELD, EVENT_TIME_UNIT (docs/DESIGN.md section 2); undefined = the defaults. */
  readonly fields?: FieldMapping | undefined;
  /** The future-timestamp guard (MAX_FUTURE_MS, lib/kafka/checks.ts); undefined = off. */
  readonly maxFutureMs?: number | undefined;
  /** State pieces expire this long after they were written; a snapshot is rewritten at half of it. */
  readonly stateTtlDays: number;
  /** Deltas the journal may hold before a snapshot (docs/STATE.md section 2). */
  readonly journalMax: number;
  /**
   * The container's memory and the warm cache's share of it (lib/config.ts, MemorySettings);
   * unset: no bound and no memory check (tests, tools).
   */
  readonly memory?: { readonly limitBytes: number; readonly warmCacheBytes: number } | undefined;
}

/**
 * A warm container's memory (docs/STATE.md section 2): the checkpoint table's generation, and per
 * partition the engine holding exactly the state of the version this container last committed.
 */
export interface WarmState {
  generation: string | undefined;
  /** The generation being read (tableGeneration), shared by the partitions of one event. */
  resolving?: Promise<string> | undefined;
  /**
   * Least recently committed first (a commit moves its partition to the end): the order in which
   * the warm cache forgets partitions past WARM_CACHE_MB (warm-cache.ts).
   */
  readonly partitions: Map<string, WarmPartition>;
}

export interface WarmPartition {
  readonly sessions: PartitionSessions;
  /** The checkpoint as this container committed it. */
  readonly checkpoint: PartitionCheckpoint;
  /** The engine's estimated bytes at that commit (PartitionSessions.memoryBytes). */
  readonly bytes: number;
}

export function createWarmState(): WarmState {
  return { generation: undefined, partitions: new Map() };
}

/** What one partition's batch did, for the batch log line and metrics. */
export interface PartitionOutcome {
  readonly topic: string;
  readonly partition: number;
  readonly firstOffset: number | null;
  readonly lastOffset: number | null;
  /** Records applied (events, rejects and ticks), not counting re-delivered ones. */
  readonly records: number;
  /** Records below the committed offset: a re-delivery, skipped. */
  readonly skipped: number;
  /** Idle ticks (and other control records) read. */
  readonly ticks: number;
  readonly emitted: number;
  /** Of the emissions, how many were early firings by idle ticks (provisional rows). */
  readonly earlyFired: number;
  readonly superseded: number;
  readonly rejected: Partial<Record<RejectReason, number>>;
  readonly late: number;
  readonly watermark: number | null;
  /** Kafka timestamp of the partition's latest event after the batch (the producers' clock). */
  readonly lastLogTime: number | null;
  readonly usersTouched: number;
  readonly liveSessions: number;
  /** The state was in this container's memory ('warm') or read from DynamoDB ('cold'). */
  readonly state: 'warm' | 'cold' | 'none';
  /** What the transition wrote of the user state, and its compressed bytes. */
  readonly image: 'none' | 'empty' | 'delta' | 'snapshot';
  readonly imageBytes: number;
  /** Offsets missing between the checkpoint and the batch (see docs/STATE.md, known limits). */
  readonly offsetGap: number;
  /** Transitions committed (0 for a batch that was all re-delivered records). */
  readonly commits: number;
  /** Records diverted as `unwritable` because PostgreSQL refused what they made the batch write. */
  readonly diverted: number;
  /**
   * The warm cache after the batch (docs/DEPLOY.md, "Sizing"): this partition's estimated bytes,
   * the partitions the container keeps and their bytes, and those it forgot to stay within
   * WARM_CACHE_MB.
   */
  readonly stateBytes: number;
  readonly warmPartitions: number;
  readonly warmBytes: number;
  readonly evicted: readonly string[];
  /** Wall-clock time of the whole partition batch, and the parts of it spent waiting for each store. */
  readonly durationMs: number;
  readonly dynamodbMs: number;
  readonly postgresMs: number;
}
