import { decodePartition } from '../../lib/checkpoint/codec.ts';
import type {
  CheckpointStore,
  ClaimRequest,
  PartitionCheckpoint,
  StoredUser,
  StoreStats,
} from '../../lib/checkpoint/types.ts';
import { nextDue } from '../../lib/engine/index.ts';
import type { PartitionState, UserState } from '../../lib/engine/types.ts';
import { CheckpointConflictError } from '../../lib/errors.ts';

export { MemorySink, type Row } from './memory-sink.ts';

/**
 * In-memory stand-ins with the same conditional semantics as DynamoCheckpointStore and
 * PostgresSink (epoch fencing, per-item conditions, idempotent rejects), for the property tests
 * of DESIGN.md section 5. A `crash` hook lets a test stop an invocation after any step, including
 * half-way through the user writes.
 */

export type Step = 'claim' | 'sink' | 'user' | 'commit';

/** Throwing this simulates the process dying right after the named step. */
export class Crash extends Error {
  constructor(readonly step: Step) {
    super(`crash after ${step}`);
  }
}

export class MemoryStore implements CheckpointStore {
  readonly stats: StoreStats = { calls: 0, itemsRead: 0, itemsWritten: 0 };
  private readonly partitions = new Map<string, PartitionCheckpoint>();
  private readonly users = new Map<string, StoredUser>();
  private readonly registry = new Map<string, Set<number>>();
  /** Called after each step; throw Crash from it to simulate a crash. */
  afterStep: (step: Step) => void = () => undefined;

  async readPartition(topic: string, partition: number): Promise<PartitionCheckpoint> {
    return this.partitions.get(`${topic}#${partition}`) ?? decodePartition(topic, partition, undefined);
  }

  async listPartitions(topic: string): Promise<number[]> {
    return [...(this.registry.get(topic) ?? [])].sort((a, b) => a - b);
  }

  async queryDue(topic: string, partition: number, watermark: number): Promise<string[]> {
    const prefix = `${topic}#${partition}#`;
    const due: string[] = [];
    for (const [key, user] of this.users) {
      const at = nextDue(user);
      if (key.startsWith(prefix) && at !== null && at <= watermark) due.push(user.userId);
    }
    return due;
  }

  async readUsers(
    topic: string,
    partition: number,
    userIds: readonly string[],
  ): Promise<Map<string, StoredUser>> {
    const found = new Map<string, StoredUser>();
    for (const id of userIds) {
      const user = this.users.get(`${topic}#${partition}#${id}`);
      if (user !== undefined) found.set(id, structuredClone(user));
    }
    return found;
  }

  async claim({ claim, read, claimedThrough }: ClaimRequest): Promise<PartitionCheckpoint> {
    const key = `${read.topic}#${read.partition}`;
    const current = await this.readPartition(read.topic, read.partition);
    if (current.epoch !== read.epoch) throw new CheckpointConflictError('claimed by someone else');
    const set = this.registry.get(read.topic) ?? new Set<number>();
    set.add(read.partition);
    this.registry.set(read.topic, set);
    const claimed = {
      ...current,
      epoch: claim.epoch,
      claim,
      claimedThrough: Math.max(current.claimedThrough, claimedThrough),
    };
    this.partitions.set(key, claimed);
    this.afterStep('claim');
    return claimed;
  }

  async writeUsers(
    topic: string,
    partition: number,
    epoch: number,
    users: readonly UserState[],
  ): Promise<void> {
    for (const user of users) {
      const key = `${topic}#${partition}#${user.userId}`;
      const existing = this.users.get(key);
      if (existing !== undefined && existing.epoch > epoch)
        throw new CheckpointConflictError('newer epoch wrote');
      this.users.set(key, { ...structuredClone(user), epoch });
      this.afterStep('user');
    }
  }

  async commit(claimed: PartitionCheckpoint, state: PartitionState): Promise<PartitionCheckpoint> {
    const key = `${claimed.topic}#${claimed.partition}`;
    const current = this.partitions.get(key);
    if (current?.epoch !== claimed.epoch || current.claim?.epoch !== claimed.epoch) {
      throw new CheckpointConflictError('claim lost before commit');
    }
    const committed = { ...current, version: current.version + 1, claim: null, state };
    this.partitions.set(key, committed);
    this.afterStep('commit');
    return committed;
  }
}
