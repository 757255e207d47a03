import {
  type CheckpointStore,
  manifestExpiry,
  type PartitionCheckpoint,
  snapshotStale,
} from '../checkpoint/index.ts';
import { log } from '../log.ts';
import { recordSweepMetrics } from '../metrics.ts';
import type { Ticker } from './ticker.ts';

/** What one run of the sweep did. */
export interface SweepOutcome {
  readonly topic: string;
  /** Partitions that got an idle tick, and those that got one to refresh an old snapshot. */
  readonly idle: readonly number[];
  readonly refresh: readonly number[];
  /** Partitions whose checkpoint expires within a day (their trigger has not committed for long). */
  readonly expiring: readonly number[];
}

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
 * The sweep (docs/STATE.md section 1): appends an idle tick to each quiet partition that has
 * sessions with unwritten changes, so the job writes them early (docs/DESIGN.md section 4); and a
 * refresh tick to each quiet partition whose snapshot is half-way to its pieces' TTL, so the job
 * rewrites it. It reads the checkpoint and the log end offsets and writes only ticks: it never
 * changes state or rows itself, so it races nobody. A partition whose trigger is paused reads no
 * tick, and keeps its checkpoint STATE_TTL_DAYS after its last commit at least (docs/STATE.md
 * section 2); the sweep warns on the last day.
 *
 * Quiet is measured with the job's own clock: no record the job has not read yet (the log ends
 * where the checkpoint's next offset is), and none applied for IDLE_TIMEOUT_MS. Any clock would do:
 * a tick decides only how soon rows appear, never what they finally hold, so a wrong guess costs an
 * early write or a later one, nothing else.
 */
export async function sweepTopic(deps: SweepDeps, topic: string): Promise<SweepOutcome> {
  const partitions = await deps.ticker.partitions(topic);
  const checkpoints = await deps.store.readPartitions(topic, partitions);
  const now = deps.now();
  const candidates = checkpoints.filter(
    (c): c is PartitionCheckpoint => c !== null && tickNeeded(c, now, deps.settings) !== null,
  );
  const idle: number[] = [];
  const refresh: number[] = [];
  if (candidates.length > 0) {
    const ends = await deps.ticker.endOffsets(topic);
    for (const checkpoint of candidates) {
      const need = tickNeeded(checkpoint, now, deps.settings, ends.get(checkpoint.partition));
      if (need === 'idle') idle.push(checkpoint.partition);
      else if (need === 'refresh') refresh.push(checkpoint.partition);
    }
  }
  await deps.ticker.send(topic, idle, 'idle');
  await deps.ticker.send(topic, refresh, 'refresh');
  const expiring = expiringSoon(checkpoints, now);
  recordSweepMetrics(idle.length, refresh.length, expiring.length);
  // Quiet when there is nothing to do: a line only when a tick went out.
  if (idle.length + refresh.length > 0) log.info('ticks sent', { topic, idle, refresh });
  for (const c of expiring) {
    const expiry = manifestExpiry(c.manifest) as number;
    log.warn(
      'checkpoint about to expire: its partition has not committed for close to STATE_TTL_DAYS (a paused ' +
        'trigger?); resume the trigger, or its open sessions are lost (docs/STATE.md section 2)',
      {
        topicPartition: `${topic}-${c.partition}`,
        expiresAt: new Date(expiry).toISOString(),
        lastCommitAt: c.committedAt === null ? null : new Date(c.committedAt).toISOString(),
      },
    );
  }
  return { topic, idle, refresh, expiring: expiring.map((c) => c.partition) };
}

/**
 * Partitions whose earliest listed piece expires within a day. A running job rewrites a snapshot
 * long before (snapshotStale), so this is a partition whose trigger is paused or stuck.
 */
function expiringSoon(
  checkpoints: readonly (PartitionCheckpoint | null)[],
  now: number,
): PartitionCheckpoint[] {
  return checkpoints.filter((c): c is PartitionCheckpoint => {
    const expiry = c === null ? null : manifestExpiry(c.manifest);
    return expiry !== null && Number.isFinite(expiry) && expiry - now < 86_400_000;
  });
}

/**
 * Which tick a partition needs now, if any. `logEnd` is the offset the partition's next record will
 * get; a partition with records the job has not read is not quiet (they are about to be read, and
 * an earlier tick may be among them), so it gets nothing. Without `logEnd`, the checkpoint alone
 * decides (a first pass that saves the offset lookup when no partition could need a tick).
 */
export function tickNeeded(
  checkpoint: PartitionCheckpoint,
  nowMs: number,
  settings: SweepDeps['settings'],
  logEnd?: number,
): 'idle' | 'refresh' | null {
  if (logEnd !== undefined && logEnd > checkpoint.state.nextOffset) return null;
  const { idleTimeoutMs } = settings;
  const quietSince = checkpoint.lastRecordAt;
  if (
    idleTimeoutMs !== null &&
    checkpoint.stats.pendingSessions > 0 &&
    quietSince !== null &&
    nowMs - quietSince >= idleTimeoutMs
  ) {
    return 'idle';
  }
  return snapshotStale(checkpoint.manifest, nowMs, settings.stateTtlDays) ? 'refresh' : null;
}
