import type { CheckpointStore, PartitionCheckpoint } from '../checkpoint/types.ts';
import type { Ticker } from '../kafka/ticker.ts';
import { log } from '../log.ts';
import { recordSweepMetrics } from '../metrics.ts';
import type { SweepOutcome } from './types.ts';

export interface SweepDeps {
  readonly store: CheckpointStore;
  readonly ticker: Ticker;
  readonly now: () => number;
  readonly settings: {
    /** IDLE_TIMEOUT_MS; null when IDLE_FLUSH=false. */
    readonly idleTimeoutMs: number | null;
    readonly stateTtlDays: number;
  };
}

/**
 * The sweep (docs/STATE.md section 1): appends an idle tick to each partition that holds live
 * sessions and whose latest event is older than IDLE_TIMEOUT_MS, so the job closes them; and to each
 * partition whose snapshot is half-way to its pieces' TTL, so the job rewrites it. It reads the
 * checkpoint and writes only ticks: it never changes state or rows itself, so it races nobody.
 *
 * The decision uses the committed checkpoint and the wall clock, so it may send a tick that turns
 * out useless (the job is behind: the tick measures no silence in the log) or one run late; either
 * changes when a quiet session closes, never its row.
 */
export async function sweepTopic(deps: SweepDeps, topic: string): Promise<SweepOutcome> {
  const partitions = await deps.ticker.partitions(topic);
  const checkpoints = await deps.store.readPartitions(topic, partitions);
  const now = deps.now();
  const idle: number[] = [];
  const refresh: number[] = [];
  for (const checkpoint of checkpoints) {
    if (checkpoint === null) continue;
    const need = tickNeeded(checkpoint, now, deps.settings);
    if (need === 'idle') idle.push(checkpoint.partition);
    else if (need === 'refresh') refresh.push(checkpoint.partition);
  }
  await deps.ticker.send(
    topic,
    [...idle, ...refresh].sort((a, b) => a - b),
  );
  recordSweepMetrics(idle.length, refresh.length);
  // Quiet when there is nothing to do: a line only when a tick went out.
  if (idle.length + refresh.length > 0) log.info('idle ticks sent', { topic, idle, refresh });
  return { topic, idle, refresh };
}

export function tickNeeded(
  checkpoint: PartitionCheckpoint,
  nowMs: number,
  settings: SweepDeps['settings'],
): 'idle' | 'refresh' | null {
  const { idleTimeoutMs } = settings;
  const { lastLogTime } = checkpoint.state;
  if (
    idleTimeoutMs !== null &&
    checkpoint.stats.liveSessions > 0 &&
    lastLogTime !== null &&
    nowMs - lastLogTime >= idleTimeoutMs
  ) {
    return 'idle';
  }
  const snapshot = checkpoint.manifest.snapshot;
  if (snapshot !== null && nowMs - snapshot.writtenAt > (settings.stateTtlDays * 86_400_000) / 2)
    return 'refresh';
  return null;
}
