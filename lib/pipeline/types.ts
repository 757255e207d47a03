import type { CheckpointStore } from '../checkpoint/types.ts';
import type { EngineConfig } from '../engine/types.ts';
import type { EventTimeSource, RejectReason } from '../kafka/types.ts';
import type { Sink } from '../sink/types.ts';

/** What a transition needs: the stores behind interfaces, settings, and the clock (injected). */
export interface PipelineDeps {
  readonly store: CheckpointStore;
  readonly sink: Sink;
  readonly settings: PipelineSettings;
  readonly now: () => number;
}

export interface PipelineSettings {
  readonly engine: EngineConfig;
  readonly eventTimeSource: EventTimeSource;
  readonly idleFlush: boolean;
  readonly idleTimeoutMs: number;
  /** A sweep takes over another sweep's claim only when it is older than this. */
  readonly sweepLeaseMs: number;
}

/** What one partition's batch did, for the batch log line and metrics. */
export interface PartitionOutcome {
  readonly topic: string;
  readonly partition: number;
  readonly firstOffset: number | null;
  readonly lastOffset: number | null;
  readonly records: number;
  /** Records below the committed offset: a re-delivery, skipped. */
  readonly skipped: number;
  readonly emitted: number;
  readonly superseded: number;
  readonly rejected: Partial<Record<RejectReason, number>>;
  readonly late: number;
  readonly watermark: number | null;
  readonly usersTouched: number;
  /** Transitions committed (a pending sweep redone first makes 2). */
  readonly commits: number;
  /** Wall-clock time of the whole partition batch, and the parts of it spent waiting for each store. */
  readonly durationMs: number;
  readonly dynamodbMs: number;
  readonly postgresMs: number;
}

export type SweepOutcome =
  | {
      readonly topic: string;
      readonly partition: number;
      readonly action: 'advanced';
      readonly watermark: number;
      readonly emitted: number;
      readonly durationMs: number;
      readonly dynamodbMs: number;
      readonly postgresMs: number;
    }
  | {
      readonly topic: string;
      readonly partition: number;
      readonly action: 'not-idle' | 'busy' | 'uncommitted-records' | 'lost-race';
    };
