import type { PartitionState, PartitionStats } from '../engine/index.ts';
import { CheckpointCorruptError } from '../errors.ts';
import { LEGACY_IMAGE_FORMAT } from './constants.ts';
import { partitionKey } from './keys.ts';
import type {
  Claim,
  Commit,
  ImageRef,
  Manifest,
  PartitionCheckpoint,
  RecordedSettings,
  TableMeta,
} from './types.ts';

/*
 * Items as the DocumentClient sees them. The manifest is one compact JSON string: it is read and
 * written whole, and one string attribute is cheaper (in bytes, so in write units) than a list of maps.
 */

export interface PartitionItem {
  pk: string;
  lineage: string;
  version: number;
  epoch: number;
  claim?: Claim;
  nextOffset: number;
  /** The records' watermark (docs/DESIGN.md section 4). */
  watermark?: number;
  /**
   * Written equal to `watermark`. Release 0.1.0 kept here the records' watermark and in `watermark`
   * one its idle ticks could move further; reading this one first takes such an item over as the
   * records alone left it (test/integration/upgrade.test.ts).
   */
  recordWatermark?: number;
  maxEventTime?: number;
  lastLogTime?: number;
  manifest: string;
  liveSessions?: number;
  pendingSessions?: number;
  liveUsers?: number;
  committedAt?: number;
  /** Wall-clock time of the last commit that applied a record other than a tick (the sweep's quiet test). */
  lastRecordAt?: number;
  /** The committing engine's estimated bytes (docs/DEPLOY.md, "Sizing"). */
  memoryBytes?: number;
}

export interface MetaItem {
  pk: string;
  layout: number;
  generation: string;
  createdAt: number;
  origin: TableMeta['origin'];
  /** As written; the field mapping's three are absent in items written before they existed. */
  settings?: Omit<RecordedSettings, 'userIdField' | 'eventTimeField' | 'eventTimeUnit'> &
    Partial<Pick<RecordedSettings, 'userIdField' | 'eventTimeField' | 'eventTimeUnit'>>;
  partitions?: number;
}

/**
 * [version, epoch, pieces, bytes, writtenAt, format, expiresAt]; manifests written before image
 * format 2 end at writtenAt.
 */
type RefTuple = [number, number, number, number, number, number?, number?];

export const EMPTY_MANIFEST: Manifest = { snapshot: null, journal: [] };
const NO_STATS: PartitionStats = { liveSessions: 0, pendingSessions: 0, liveUsers: 0 };

export function encodeManifest(manifest: Manifest): string {
  const ref = (r: ImageRef): RefTuple =>
    r.expiresAt === null
      ? [r.version, r.epoch, r.pieces, r.bytes, r.writtenAt, r.format]
      : [r.version, r.epoch, r.pieces, r.bytes, r.writtenAt, r.format, r.expiresAt];
  return JSON.stringify({
    s: manifest.snapshot === null ? null : ref(manifest.snapshot),
    j: manifest.journal.map(ref),
  });
}

function decodeManifest(text: string, pk: string): Manifest {
  try {
    const { s, j } = JSON.parse(text) as { s: RefTuple | null; j: RefTuple[] };
    const ref = ([version, epoch, pieces, bytes, writtenAt, format, expiresAt]: RefTuple): ImageRef => ({
      version,
      epoch,
      pieces,
      bytes,
      writtenAt,
      format: format ?? LEGACY_IMAGE_FORMAT,
      expiresAt: expiresAt ?? null,
    });
    return { snapshot: s === null ? null : ref(s), journal: j.map(ref) };
  } catch (error) {
    throw new CheckpointCorruptError(`Checkpoint item ${pk} has an unreadable manifest`, error);
  }
}

export function decodePartition(topic: string, partition: number, item: PartitionItem): PartitionCheckpoint {
  return {
    topic,
    partition,
    lineage: item.lineage,
    version: item.version,
    epoch: item.epoch,
    claim: item.claim ?? null,
    state: {
      nextOffset: item.nextOffset,
      watermark: item.recordWatermark ?? item.watermark ?? null,
      maxEventTime: item.maxEventTime ?? null,
      lastLogTime: item.lastLogTime ?? null,
    },
    manifest: decodeManifest(item.manifest, item.pk),
    stats: {
      liveSessions: item.liveSessions ?? 0,
      pendingSessions: item.pendingSessions ?? 0,
      liveUsers: item.liveUsers ?? 0,
    },
    committedAt: item.committedAt ?? null,
    lastRecordAt: item.lastRecordAt ?? item.committedAt ?? null,
    memoryBytes: item.memoryBytes ?? null,
  };
}

/** The item a new partition's first claim creates: nothing committed yet. */
export function freshPartition(topic: string, partition: number, lineage: string): PartitionCheckpoint {
  return {
    topic,
    partition,
    lineage,
    version: 0,
    epoch: 0,
    claim: null,
    state: { nextOffset: 0, watermark: null, maxEventTime: null, lastLogTime: null },
    manifest: EMPTY_MANIFEST,
    stats: NO_STATS,
    committedAt: null,
    lastRecordAt: null,
    memoryBytes: null,
  };
}

/** The whole partition item after a commit (PutItem replaces it; `undefined` attributes are left out). */
export function committedItem(claimed: PartitionCheckpoint, commit: Commit): PartitionItem {
  const { state } = commit;
  const optional = (value: number | null): number | undefined => value ?? undefined;
  return {
    pk: partitionKey(claimed.topic, claimed.partition),
    lineage: claimed.lineage,
    version: claimed.version + 1,
    epoch: claimed.epoch,
    nextOffset: state.nextOffset,
    watermark: optional(state.watermark),
    recordWatermark: optional(state.watermark),
    maxEventTime: optional(state.maxEventTime),
    lastLogTime: optional(state.lastLogTime),
    manifest: encodeManifest(commit.manifest),
    liveSessions: commit.stats.liveSessions,
    pendingSessions: commit.stats.pendingSessions,
    liveUsers: commit.stats.liveUsers,
    committedAt: commit.committedAt,
    lastRecordAt: optional(commit.lastRecordAt),
    memoryBytes: commit.memoryBytes,
  };
}

export function decodeMeta(item: MetaItem): TableMeta {
  const meta: TableMeta = {
    layout: item.layout,
    generation: item.generation,
    createdAt: item.createdAt,
    origin: item.origin,
    ...(item.partitions === undefined ? {} : { partitions: Number(item.partitions) }),
  };
  if (item.settings === undefined) return meta;
  const s = item.settings;
  return {
    ...meta,
    settings: {
      gapMs: Number(s.gapMs),
      outOfOrdernessMs: Number(s.outOfOrdernessMs),
      allowedLatenessMs: Number(s.allowedLatenessMs),
      eventTimeSource: s.eventTimeSource,
      maxFutureMs: s.maxFutureMs === null || s.maxFutureMs === undefined ? null : Number(s.maxFutureMs),
      // Recorded before the field mapping was a setting: the job then read the defaults.
      userIdField: s.userIdField ?? 'userId',
      eventTimeField: s.eventTimeField ?? 'timestamp',
      eventTimeUnit: s.eventTimeUnit ?? 'ms',
    },
  };
}

export type { PartitionState };
