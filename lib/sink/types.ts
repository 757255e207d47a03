import type { EmittedSession, EmittedSessions, SupersededSession } from '../engine/index.ts';
import type { Rejection } from '../parse/index.ts';

/** Everything one state transition writes to PostgreSQL, in one transaction. */
export interface SinkBatch {
  /**
   * Fired sessions in emission order; the last one per group_key wins. As the engine emits them
   * (columns), or as objects (EmittedSessions.from reads either).
   */
  readonly emitted: EmittedSessions | readonly EmittedSession[];
  /** Rows superseded by a merged session (allowed lateness > 0): deleted. */
  readonly superseded: readonly SupersededSession[];
  readonly rejections: readonly Rejection[];
}

/**
 * How a write put its sessions: 'insert' when none of its rows was there yet (plain inserts),
 * 'upsert' when some were, or may have been (the guarded upserts).
 */
export type WriteMode = 'insert' | 'upsert';

export interface SinkResult {
  readonly upserted: number;
  readonly deleted: number;
  readonly rejected: number;
  /** Statements sent, a write redone included, for the benchmark's cost per 1,000 events. */
  readonly statements: number;
  /** Absent from sinks that do not tell. */
  readonly mode?: WriteMode;
}

/**
 * The claim a write belongs to (docs/STATE.md section 5): refused unless its checkpoint generation
 * is newer than the one that last wrote the partition, or the same with a higher epoch.
 */
export interface SinkFence {
  readonly topic: string;
  readonly partition: number;
  readonly generation: string;
  readonly epoch: number;
  /**
   * The partition's records watermark after the transaction (null: no event yet) and the allowed
   * lateness, kept beside the fence: a row whose end - 1 + L is at or below it is final, the others
   * provisional (the session_status view, docs/DESIGN.md section 4).
   */
  readonly watermark: number | null;
  readonly allowedLatenessMs: number;
}

export interface WriteOptions {
  /**
   * Run the whole transaction and roll it back: whether the sink would take the batch, without
   * writing it (the search for a record the sink refuses, lib/pipeline/isolate.ts).
   */
  readonly dryRun?: boolean;
}

/** Where closed sessions and rejected records go. PostgresSink in production, fakes in tests. */
export interface Sink {
  /**
   * Writes the batch in one transaction, fence first (written even when the batch has nothing
   * else); throws SinkFencedError when the fence refuses it, SinkDataError when the data is refused
   * deterministically.
   */
  write(batch: SinkBatch, fence: SinkFence, options?: WriteOptions): Promise<SinkResult>;
  /** The checkpoint generations that have written rows of this topic (any partition). */
  fenceGenerations(topic: string): Promise<string[]>;
}
