import {
  type CheckpointStore,
  type Claim,
  type Commit,
  committedItem,
  decodePartition,
  EMPTY_MANIFEST,
  type EncodedImage,
  emptyStoreStats,
  freshPartition,
  type ImageRef,
  type PartitionCheckpoint,
  pieceExpiresAt,
  pieceKey,
  type RecordedSettings,
  type StoredImage,
  type StoreStats,
  type TableMeta,
} from '../../lib/checkpoint/index.ts';
import { CheckpointConflictError, CheckpointLostError } from '../../lib/errors.ts';

/**
 * An in-memory stand-in for DynamoCheckpointStore with the same conditions (the claim on version,
 * epoch and lineage; the commit on the claim; immutable pieces), for the property tests of
 * docs/STATE.md section 4. `afterStep` lets a test stop an invocation after any step, each piece
 * write included.
 */

export type Step = 'claim' | 'sink' | 'piece' | 'commit';

/** Throwing this simulates the process dying right after the named step. */
export class Crash extends Error {
  constructor(readonly step: Step) {
    super(`crash after ${step}`);
  }
}

export class MemoryStore implements CheckpointStore {
  readonly stats: StoreStats = emptyStoreStats();
  meta: TableMeta | null = null;
  readonly partitions = new Map<string, PartitionCheckpoint>();
  readonly pieces = new Map<string, Buffer>();
  /** Each piece's `expiresAt` (epoch seconds), as DynamoDB's TTL reads it (expire). */
  readonly expiries = new Map<string, number>();
  /** The TTL its pieces record (it deletes none): the pipeline tests' STATE_TTL_DAYS. */
  stateTtlDays = 2;
  /** Called after each step; throw Crash from it to simulate a crash. */
  afterStep: (step: Step) => void = () => undefined;

  async readMeta(): Promise<TableMeta | null> {
    return this.meta;
  }

  async createMeta(meta: TableMeta): Promise<TableMeta> {
    this.meta ??= meta;
    return this.meta;
  }

  async replaceMeta(meta: TableMeta): Promise<void> {
    this.meta = meta;
  }

  async recordSettings(generation: string, settings: RecordedSettings): Promise<TableMeta | null> {
    if (this.meta !== null && this.meta.settings === undefined && this.meta.generation === generation) {
      this.meta = { ...this.meta, settings };
    }
    return this.meta;
  }

  async recordPartitions(generation: string, partitions: number): Promise<number | undefined | null> {
    if (this.meta === null || this.meta.generation !== generation) return null;
    const before = this.meta.partitions;
    this.meta = { ...this.meta, partitions };
    return before;
  }

  async readTopic(
    topic: string,
    partitions: readonly number[],
  ): Promise<{ meta: TableMeta | null; partitions: (PartitionCheckpoint | null)[] }> {
    return { meta: this.meta, partitions: await this.readPartitions(topic, partitions) };
  }

  async hasLegacyItems(): Promise<boolean> {
    return false;
  }

  async readPartition(topic: string, partition: number): Promise<PartitionCheckpoint | null> {
    return this.partitions.get(`${topic}#${partition}`) ?? null;
  }

  async readPartitions(
    topic: string,
    partitions: readonly number[],
  ): Promise<(PartitionCheckpoint | null)[]> {
    return Promise.all(partitions.map((p) => this.readPartition(topic, p)));
  }

  async claim(
    topic: string,
    partition: number,
    expected: PartitionCheckpoint | null,
    claim: Claim,
    lineage: string,
  ): Promise<PartitionCheckpoint> {
    const key = `${topic}#${partition}`;
    const current = this.partitions.get(key) ?? null;
    if (expected === null) {
      if (current !== null) throw new CheckpointConflictError('partition item exists');
    } else if (
      current === null ||
      current.version !== expected.version ||
      current.epoch !== expected.epoch ||
      current.lineage !== expected.lineage
    ) {
      throw new CheckpointConflictError('claimed or committed by someone else');
    }
    const claimed = { ...(current ?? freshPartition(topic, partition, lineage)), epoch: claim.epoch, claim };
    this.partitions.set(key, claimed);
    this.afterStep('claim');
    return claimed;
  }

  async readImages(checkpoint: PartitionCheckpoint): Promise<StoredImage[]> {
    const { topic, partition, lineage, manifest } = checkpoint;
    const refs = [manifest.snapshot, ...manifest.journal].filter((r): r is ImageRef => r !== null);
    return refs.map((r) => {
      const pieces = Array.from({ length: r.pieces }, (_, i) => {
        const piece = this.pieces.get(pieceKey(topic, partition, lineage, r.version, r.epoch, i));
        if (piece === undefined)
          throw new CheckpointLostError(`missing piece ${i} of ${r.version}.${r.epoch}`);
        return piece;
      });
      return { format: r.format, pieces };
    });
  }

  async writeImage(claimed: PartitionCheckpoint, image: EncodedImage, nowMs: number): Promise<ImageRef> {
    const { topic, partition, lineage, version, epoch } = claimed;
    const { pieces } = image;
    const expiresAt = pieceExpiresAt(nowMs, this.stateTtlDays);
    for (const [i, piece] of pieces.entries()) {
      const key = pieceKey(topic, partition, lineage, version + 1, epoch, i);
      this.pieces.set(key, Buffer.from(piece));
      this.expiries.set(key, expiresAt);
      this.afterStep('piece');
    }
    return {
      version: version + 1,
      epoch,
      pieces: pieces.length,
      bytes: image.bytes,
      writtenAt: nowMs,
      format: image.format,
      expiresAt,
    };
  }

  async commit(claimed: PartitionCheckpoint, commit: Commit): Promise<PartitionCheckpoint> {
    const key = `${claimed.topic}#${claimed.partition}`;
    const current = this.partitions.get(key);
    if (current?.epoch !== claimed.epoch || current.claim?.epoch !== claimed.epoch) {
      throw new CheckpointConflictError('claim lost before commit');
    }
    const committed = decodePartition(claimed.topic, claimed.partition, committedItem(claimed, commit));
    this.partitions.set(key, committed);
    this.afterStep('commit');
    return committed;
  }

  /** Deletes the pieces whose `expiresAt` has passed at `nowMs`, as DynamoDB's TTL does. */
  expire(nowMs: number): void {
    for (const [key, expiresAt] of this.expiries) {
      if (expiresAt * 1000 > nowMs) continue;
      this.pieces.delete(key);
      this.expiries.delete(key);
    }
  }

  /** Forgets a partition, as a table that lost its item would. */
  lose(topic: string, partition: number): void {
    this.partitions.delete(`${topic}#${partition}`);
  }
}

export { EMPTY_MANIFEST };
