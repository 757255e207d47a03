import type { PartitionState, Session, UserState } from '../engine/types.ts';
import { CheckpointCorruptError } from '../errors.ts';
import type { Claim, PartitionCheckpoint, StoredUser } from './types.ts';

/*
 * Items as the DocumentClient sees them. Sessions are one compact JSON string per user
 * ([start, end, count, pending, [emittedStarts]]): a user rarely has more than a few, and one
 * string attribute is far cheaper to read and write than nested maps.
 */

type SessionTuple = [number, number, number, 0 | 1, number[], number];

export function encodeSessions(sessions: readonly Session[]): string {
  return JSON.stringify(
    sessions.map(
      (s): SessionTuple => [s.start, s.end, s.count, s.pending ? 1 : 0, [...s.emittedStarts], s.last],
    ),
  );
}

export function decodeSessions(json: string, pk: string): Session[] {
  try {
    const tuples = JSON.parse(json) as SessionTuple[];
    return tuples.map(([start, end, count, pending, emittedStarts, last]) => ({
      start,
      end,
      last,
      count,
      pending: pending === 1,
      emittedStarts,
    }));
  } catch (error) {
    throw new CheckpointCorruptError(`Checkpoint item ${pk} has unreadable sessions`, error);
  }
}

export interface UserItem {
  pk: string;
  sessions: string;
  lastOffset?: number;
  epoch: number;
  dueShard?: string;
  nextDue?: number;
  expiresAt?: number;
}

export function decodeUser(userId: string, item: UserItem): StoredUser {
  return {
    userId,
    sessions: decodeSessions(item.sessions, item.pk),
    lastOffset: item.lastOffset ?? null,
    epoch: item.epoch,
  };
}

export interface PartitionItem {
  pk: string;
  version: number;
  epoch: number;
  claimedThrough: number;
  claim?: Claim;
  nextOffset: number;
  watermark?: number;
  recordWatermark?: number;
  maxEventTime?: number;
  lastArrivalMs?: number;
}

export function decodePartition(
  topic: string,
  partition: number,
  item: PartitionItem | undefined,
): PartitionCheckpoint {
  if (item === undefined) {
    return {
      topic,
      partition,
      version: 0,
      epoch: 0,
      claimedThrough: 0,
      claim: null,
      state: {
        nextOffset: 0,
        watermark: null,
        recordWatermark: null,
        maxEventTime: null,
        lastArrivalMs: null,
      },
    };
  }
  return {
    topic,
    partition,
    version: item.version,
    epoch: item.epoch,
    claimedThrough: item.claimedThrough ?? 0,
    claim: item.claim ?? null,
    state: {
      nextOffset: item.nextOffset ?? 0,
      watermark: item.watermark ?? null,
      recordWatermark: item.recordWatermark ?? null,
      maxEventTime: item.maxEventTime ?? null,
      lastArrivalMs: item.lastArrivalMs ?? null,
    },
  };
}

/** SET/REMOVE pieces for the nullable state fields (DynamoDB has no null numbers we want). */
export function stateUpdate(state: PartitionState): {
  set: string[];
  remove: string[];
  values: Record<string, number>;
  names: string[];
} {
  const set: string[] = ['#nextOffset = :nextOffset'];
  const names: string[] = ['nextOffset'];
  const remove: string[] = [];
  const values: Record<string, number> = { ':nextOffset': state.nextOffset };
  const optional: [keyof PartitionState, number | null][] = [
    ['watermark', state.watermark],
    ['recordWatermark', state.recordWatermark],
    ['maxEventTime', state.maxEventTime],
    ['lastArrivalMs', state.lastArrivalMs],
  ];
  for (const [name, value] of optional) {
    names.push(name);
    if (value === null) remove.push(`#${name}`);
    else {
      set.push(`#${name} = :${name}`);
      values[`:${name}`] = value;
    }
  }
  return { set, remove, values, names };
}

export type { UserState };
