import type { Claim, PartitionCheckpoint } from '../checkpoint/types.ts';
import type { FoldResult } from '../engine/types.ts';
import { CheckpointConflictError } from '../errors.ts';
import type { Rejection } from '../kafka/types.ts';
import type { PipelineDeps } from './types.ts';

/**
 * Commits one state transition, in the order that makes any crash replay into the same rows
 * (DESIGN.md section 5):
 *
 *  1. claim the partition (conditional on the epoch we read: nobody claimed since), taking a new
 *     epoch, the fencing token for everything below;
 *  2. write the emitted sessions, superseded rows and rejections to PostgreSQL in one
 *     transaction, refused there if a newer epoch has written (sink_fences);
 *  3. write the changed users, each refused if a newer epoch wrote it;
 *  4. commit the partition state, only if the claim is still ours.
 *
 * A crash after 1, 2 or 3 leaves the claim behind; the next transition (the re-delivered batch,
 * or anyone after a sweep) takes it over. Users written in 3 carry the offset of their last
 * applied record, so the re-delivery skips exactly what they already hold.
 */
export async function commitTransition(
  deps: PipelineDeps,
  read: PartitionCheckpoint,
  claim: Claim,
  claimedThrough: number,
  result: FoldResult,
  rejections: readonly Rejection[],
): Promise<PartitionCheckpoint> {
  const { store, sink } = deps;
  const claimed = await store.claim({ claim, read, claimedThrough });
  if (claimed.epoch !== claim.epoch) {
    throw new CheckpointConflictError(
      `Claim of ${read.topic}-${read.partition} returned epoch ${claimed.epoch}`,
    );
  }
  await sink.write(
    { emitted: result.emitted, superseded: result.superseded, rejections },
    { topic: read.topic, partition: read.partition, epoch: claim.epoch },
  );
  if (result.users.size > 0) {
    await store.writeUsers(read.topic, read.partition, claim.epoch, [...result.users.values()], deps.now());
  }
  return store.commit(claimed, result.partition);
}
