import {
  type CheckpointStore,
  manifestExpiry,
  type PartitionCheckpoint,
  snapshotStale,
  type TableMeta,
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
  /**
   * The topic's partition count when it differs from the one the checkpoint records (`from`:
   * undefined when none is recorded yet); null when they agree (or the table is not in use yet).
   */
  readonly partitionCount: { readonly from: number | undefined; readonly to: number } | null;
}

/** What a sweep container remembers between runs: the `partitions` control records it appended. */
export interface SweepState {
  /** By topic: the count sent and the offset of partition 0 it got. */
  readonly partitionCountSent: Map<string, { readonly count: number; readonly offset: number }>;
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
  /** Kept between runs by a warm container; without it, a control record may be sent twice. */
  readonly state?: SweepState;
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
  const { meta, partitions: checkpoints } = await deps.store.readTopic(topic, partitions);
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
  const partitionCount =
    meta === null ? null : await checkPartitionCount(deps, topic, meta, partitions, checkpoints);
  recordSweepMetrics(idle.length, refresh.length, expiring.length, partitionCount?.from !== undefined);
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
  return { topic, idle, refresh, expiring: expiring.map((c) => c.partition), partitionCount };
}

/**
 * Compares the topic's partition count with the one the checkpoint records (docs/DEPLOY.md,
 * "Adding partitions"). When they differ, or none is recorded, appends a `partitions` control
 * record to partition 0 (unless the one it sent last is still unread there), so that the job
 * records the count; and warns about a change, with what it does to open sessions.
 */
async function checkPartitionCount(
  deps: SweepDeps,
  topic: string,
  meta: TableMeta,
  partitions: readonly number[],
  checkpoints: readonly (PartitionCheckpoint | null)[],
): Promise<SweepOutcome['partitionCount']> {
  const count = partitions.length;
  if (count === 0 || meta.partitions === count) return null;
  const change = { from: meta.partitions, to: count };
  if (meta.partitions !== undefined) {
    log.warn(
      `topic ${topic} has ${count} partitions; the checkpoint's state was built with ${meta.partitions}. Producers ` +
        "that key by user now send most users' events to another partition (the key's hash modulo the count), " +
        'where the job holds none of their state: a session open across the change is cut in two rows, and its ' +
        "later events are judged by the other partition's watermark. Unless the producers paused for longer than " +
        'SESSION_GAP_MS + OUT_OF_ORDERNESS_MS around the change, some sessions are split: docs/DEPLOY.md, "Adding partitions"',
      { topic, from: meta.partitions, to: count },
    );
  }
  const sent = deps.state?.partitionCountSent.get(topic);
  const zero = checkpoints[partitions.indexOf(0)] ?? null;
  const unread = sent !== undefined && sent.count === count && (zero?.state.nextOffset ?? 0) <= sent.offset;
  if (!unread) {
    const offset = await deps.ticker.sendPartitionCount(topic, count);
    deps.state?.partitionCountSent.set(topic, { count, offset });
  }
  return change;
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
