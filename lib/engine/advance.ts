import { SessionOperator } from './operator.ts';
import type { EngineConfig, FoldResult, PartitionState, UserState } from './types.ts';

export interface AdvanceInput {
  readonly config: EngineConfig;
  readonly partition: PartitionState;
  /** Users whose sessions may be due at the new watermark (from the due-session index). */
  readonly users: ReadonlyMap<string, UserState>;
  /** The watermark to advance to (from idleWatermark); a lower one leaves W where it is. */
  readonly watermark: number;
}

/**
 * The sweep's idle advance (DESIGN.md section 4): W = max(W, watermark), then everything due fires
 * or drops by the same rules as a fold, catch-up of already-due sessions included. It is a state
 * transition like a fold, committed the same way, so a replay after it stays deterministic.
 *
 * Only the watermark changes in the partition state: nextOffset, recordWatermark and lastArrivalMs
 * describe records, and keeping lastArrivalMs is what stops repeated sweeps from advancing twice
 * (idleWatermark computes its target from it).
 */
export function advanceTo(input: AdvanceInput): FoldResult {
  const { partition } = input;
  const operator = new SessionOperator(input.config, partition.watermark, input.users);
  operator.advance(input.watermark);
  return {
    partition: { ...partition, watermark: operator.watermark },
    users: operator.takeChangedUsers(),
    emitted: operator.output.emitted,
    superseded: operator.output.supersededRows(),
    late: operator.output.late,
  };
}
