import { EMPTY_MANIFEST } from './codec.ts';
import type { ImageRef, Manifest } from './types.ts';

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
  /** Pieces expire this long after they were written (STATE_TTL_DAYS). */
  readonly stateTtlDays: number;
}

/**
 * A snapshot is rewritten once it is half as old as its pieces may get, so that no referenced
 * piece reaches its TTL: by the next transition (planImage), and the sweep sends a refresh tick to
 * a quiet partition whose snapshot is that old, to cause one (lib/pipeline/sweep.ts).
 */
export function snapshotStale(manifest: Manifest, nowMs: number, stateTtlDays: number): boolean {
  const { snapshot } = manifest;
  return snapshot !== null && nowMs - snapshot.writtenAt > (stateTtlDays * 86_400_000) / 2;
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
