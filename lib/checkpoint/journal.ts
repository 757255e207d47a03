import { EMPTY_MANIFEST } from './codec.ts';
import type { ImageRef, Manifest, PartitionCheckpoint } from './types.ts';

/** What a transition writes of the user state (docs/STATE.md section 2). */
export type ImagePlan =
  /** Nothing: no user changed and the snapshot is young enough. */
  | 'none'
  /** No live user is left: the manifest becomes empty, no piece is written. */
  | 'empty'
  /** The changed users only, appended to the journal. */
  | 'delta'
  /** Every live user; the journal starts over. */
  | 'snapshot';

export interface ImagePolicy {
  /** Deltas the journal may hold before the next transition writes a snapshot. */
  readonly journalMax: number;
  /** How long a partition's checkpoint survives without a commit (STATE_TTL_DAYS, pieceExpiresAt). */
  readonly stateTtlDays: number;
}

const DAY_MS = 86_400_000;

/**
 * When the pieces a transition writes expire (epoch seconds, DynamoDB's TTL): STATE_TTL_DAYS and a
 * half, and a day, after they are written (docs/STATE.md section 2, "How long a checkpoint lives").
 * With the rewrite rule of snapshotStale, every piece a partition item lists has more than
 * STATE_TTL_DAYS and a day left after every commit, and after every sweep of a quiet partition:
 * so a partition whose trigger is paused keeps its checkpoint at least STATE_TTL_DAYS.
 */
export function pieceExpiresAt(nowMs: number, stateTtlDays: number): number {
  return Math.floor((nowMs + (1.5 * stateTtlDays + 1) * DAY_MS) / 1000);
}

/**
 * The earliest time (epoch ms) a piece the manifest lists may expire: null when it lists none,
 * minus infinity when one of them was written before expiries were recorded (its expiry is not
 * known: release 0.1.0 and images of format 1 gave pieces STATE_TTL_DAYS, as set then).
 */
export function manifestExpiry(manifest: Manifest): number | null {
  let earliest: number | null = null;
  for (const ref of [manifest.snapshot, ...manifest.journal]) {
    if (ref === null) continue;
    const expiry = ref.expiresAt === null ? Number.NEGATIVE_INFINITY : ref.expiresAt * 1000;
    if (earliest === null || expiry < earliest) earliest = expiry;
  }
  return earliest;
}

/**
 * The snapshot is rewritten (by the next transition, planImage; and the sweep sends a refresh tick
 * to a quiet partition, to cause one, lib/sweep/sweep.ts) once a piece the manifest lists has less
 * than STATE_TTL_DAYS and a day left, by the expiry recorded with it. With pieceExpiresAt that is
 * when the snapshot is half STATE_TTL_DAYS old; judged by the recorded expiry, it also holds for
 * pieces written under a smaller STATE_TTL_DAYS (a raised setting rewrites them at once, before
 * they expire) and for pieces whose expiry is unknown (rewritten at the first transition).
 */
export function snapshotStale(manifest: Manifest, nowMs: number, stateTtlDays: number): boolean {
  const { snapshot } = manifest;
  if (snapshot === null) return false;
  if (nowMs - snapshot.writtenAt > (stateTtlDays * DAY_MS) / 2) return true;
  const expiry = manifestExpiry(manifest);
  return expiry !== null && expiry - nowMs < (stateTtlDays + 1) * DAY_MS;
}

/**
 * Snapshot or delta. A snapshot when there is none yet, when the journal is full, when the deltas
 * since the snapshot (this one included) would outweigh it (a reload then reads at most about
 * twice the state), or when the snapshot is old (its pieces expire after STATE_TTL_DAYS).
 */
export function planImage(
  manifest: Manifest,
  changedUsers: number,
  liveUsers: number,
  deltaBytes: () => number,
  nowMs: number,
  policy: ImagePolicy,
): ImagePlan {
  if (liveUsers === 0) return manifest === EMPTY_MANIFEST || isEmpty(manifest) ? 'none' : 'empty';
  const { snapshot, journal } = manifest;
  if (snapshot === null || snapshotStale(manifest, nowMs, policy.stateTtlDays)) return 'snapshot';
  if (changedUsers === 0) return 'none';
  if (journal.length >= policy.journalMax) return 'snapshot';
  const journalBytes = journal.reduce((n, r) => n + r.bytes, 0);
  return journalBytes + deltaBytes() > snapshot.bytes ? 'snapshot' : 'delta';
}

export function isEmpty(manifest: Manifest): boolean {
  return manifest.snapshot === null && manifest.journal.length === 0;
}

/** The manifest after a transition wrote `image` (or nothing) by `plan`. */
export function nextManifest(manifest: Manifest, plan: ImagePlan, image: ImageRef | undefined): Manifest {
  if (plan === 'none') return manifest;
  if (plan === 'empty') return EMPTY_MANIFEST;
  if (image === undefined) throw new Error(`a ${plan} plan needs the image it wrote`);
  if (plan === 'snapshot') return { snapshot: image, journal: [] };
  return { snapshot: manifest.snapshot, journal: [...manifest.journal, image] };
}

/**
 * Why a partition's listed pieces are missing, checked on load (docs/STATE.md section 5): when its
 * last commit was and when its pieces were to last, and the recovery of that one partition.
 */
export function lostPiecesMessage(
  checkpoint: PartitionCheckpoint,
  missing: readonly string[],
  nowMs: number,
): string {
  const { topic, partition, version, committedAt } = checkpoint;
  const days = (ms: number) => `${Math.round(ms / DAY_MS)} days`;
  const expiry = manifestExpiry(checkpoint.manifest);
  const when =
    committedAt === null
      ? ''
      : `, last committed ${new Date(committedAt).toISOString()} (${days(nowMs - committedAt)} ago)`;
  const until =
    expiry === null || !Number.isFinite(expiry)
      ? ''
      : ` Its pieces were to last until ${new Date(expiry).toISOString()}${expiry < nowMs ? ', which has passed' : ''}.`;
  return (
    `The checkpoint of ${topic}-${partition} (version ${version}${when}) lists ${missing.length} state pieces ` +
    `that the table does not have (first: ${missing[0]}).${until} They expired (the partition's trigger was ` +
    'stopped for longer than STATE_TTL_DAYS after its last commit) or were deleted. Nothing is processed ' +
    `on ${topic}-${partition} until you decide: \`npm run checkpoint -- new-generation --partition ${partition}\` ` +
    'accepts the loss of this partition\'s open sessions alone (docs/STATE.md, "Recovery").'
  );
}
