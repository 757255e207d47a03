import type { PartitionCheckpoint } from '../checkpoint/index.ts';
import { PartitionTooLargeError } from '../errors.ts';
import type { PipelineSettings, WarmPartition, WarmState } from './types.ts';

/*
 * The warm cache (docs/DEPLOY.md, "Sizing"): a container keeps the engine of every partition it
 * commits, so that the partition's next batch reads nothing back; bounded by bytes (WARM_CACHE_MB),
 * forgetting the least recently committed partitions first. A forgotten partition is read back from
 * the checkpoint when it comes again (a cold load), which costs time, never a result.
 *
 * And a partition whose state cannot fit the container at all is refused before it is read: a
 * container that runs out of memory dies without a log line, and its retry dies the same way.
 */

const MB = 2 ** 20;

/**
 * What a container holds besides partitions' state (Node.js, the AWS SDK and pg clients, the batch
 * in hand), and the fixed part of a load's peak. The bench's cold container measures 115-125 MB RSS
 * before it loads anything; with PEAK_FACTOR this bounds the peaks it measures (docs/DEPLOY.md,
 * "Sizing": 378 MB for 1,000,000 live users, 1,006 MB for 5,000,000).
 */
export const RESERVE_BYTES = 192 * MB;

/**
 * A cold load and a snapshot need this much more than the state at rest (decoding frames, the
 * compressed pieces, the columns' growth, garbage not yet collected): the bench measures 1.09 at
 * 5,000,000 users (884 MB over the baseline for 810 MB at rest).
 */
export const PEAK_FACTOR = 1.25;

/**
 * Bytes a partition's engine takes at rest when its checkpoint recorded none (an item written
 * before memoryBytes was): per session and per user, from the bench's 181 bytes per one-session
 * user with 11-character ids, rounded up for longer ids.
 */
const SESSION_BYTES = 100;
const USER_BYTES = 150;

/** The cache's figures after a batch, for the batch log line and the metrics. */
export interface CacheFigures {
  readonly warmPartitions: number;
  readonly warmBytes: number;
  readonly evicted: readonly string[];
}

/** Bytes the cached partitions hold (their estimates at their last commit). */
export function warmBytes(warm: WarmState): number {
  let bytes = 0;
  for (const p of warm.partitions.values()) bytes += p.bytes;
  return bytes;
}

/** The memory a partition's state takes at rest, from its checkpoint. */
export function stateBytes(checkpoint: PartitionCheckpoint): number {
  const { liveSessions, liveUsers } = checkpoint.stats;
  return Math.max(checkpoint.memoryBytes ?? 0, liveSessions * SESSION_BYTES + liveUsers * USER_BYTES);
}

/**
 * Before a cold load: refuses a partition that cannot fit this container (PartitionTooLargeError,
 * with the partition, its live users and the memory it needs), and makes room for it by forgetting
 * the least recently committed partitions until the cache and it stay within WARM_CACHE_MB.
 * Returns the partitions it forgot.
 */
export function admitColdLoad(
  warm: WarmState,
  memory: PipelineSettings['memory'],
  label: string,
  checkpoint: PartitionCheckpoint | null,
): string[] {
  if (memory === undefined || checkpoint === null) return [];
  const atRest = stateBytes(checkpoint);
  const compressed = [checkpoint.manifest.snapshot, ...checkpoint.manifest.journal].reduce(
    (n, r) => n + (r?.bytes ?? 0),
    0,
  );
  const needed = RESERVE_BYTES + PEAK_FACTOR * atRest + compressed;
  if (needed > memory.limitBytes) {
    const { liveUsers, liveSessions } = checkpoint.stats;
    const mb = (bytes: number) => Math.ceil(bytes / MB);
    throw new PartitionTooLargeError(
      `Partition ${label} holds ${liveUsers} live users (${liveSessions} sessions): loading it needs about ` +
        `${mb(needed)} MB, more than this container's ${mb(memory.limitBytes)} MB. It is not read (a container ` +
        'out of memory dies without a word). Give the function more memory (docs/DEPLOY.md, "Sizing": about ' +
        `${Math.ceil((PEAK_FACTOR * atRest) / Math.max(1, liveSessions))} bytes per live session here, plus ` +
        `${mb(RESERVE_BYTES)} MB), up to 10,240 MB; or, past that, spread the users over more partitions ` +
        '(docs/DEPLOY.md, "Adding partitions").',
      {
        topicPartition: label,
        liveUsers,
        liveSessions,
        neededMb: mb(needed),
        memoryMb: mb(memory.limitBytes),
        warmCacheMb: mb(memory.warmCacheBytes),
      },
    );
  }
  return evict(warm, memory.warmCacheBytes - atRest, label);
}

/**
 * After a commit: the partition is remembered as the most recently used, and the least recently
 * committed others are forgotten while the cache holds more than WARM_CACHE_MB. A partition that
 * alone exceeds it is kept (it fits the container: it was just loaded and committed), alone.
 */
export function remember(
  warm: WarmState,
  memory: PipelineSettings['memory'],
  label: string,
  partition: WarmPartition,
): CacheFigures {
  warm.partitions.delete(label);
  warm.partitions.set(label, partition);
  const evicted = memory === undefined ? [] : evict(warm, memory.warmCacheBytes - partition.bytes, label);
  return { warmPartitions: warm.partitions.size, warmBytes: warmBytes(warm), evicted };
}

/** Forgets the least recently committed partitions other than `keep` until the others fit `room`. */
function evict(warm: WarmState, room: number, keep: string): string[] {
  const evicted: string[] = [];
  let others = warmBytes(warm) - (warm.partitions.get(keep)?.bytes ?? 0);
  for (const [label, p] of warm.partitions) {
    if (others <= room) break;
    if (label === keep) continue;
    warm.partitions.delete(label);
    others -= p.bytes;
    evicted.push(label);
  }
  return evicted;
}
