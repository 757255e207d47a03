import type { PartitionCheckpoint } from '../checkpoint/types.ts';
import { fold, MAX_EVENT_TIME_MS, MAX_USER_ID_LENGTH, watermarkAfter } from '../engine/index.ts';
import type { EventRecord, FoldResult } from '../engine/types.ts';
import { CheckpointConflictError } from '../errors.ts';
import { parseRecord, rejectLate } from '../kafka/index.ts';
import type { KafkaRecord, PartitionBatch, Rejection, RejectReason } from '../kafka/types.ts';
import { redoPendingSweep } from './sweep.ts';
import { round, timedDeps } from './timed.ts';
import { commitTransition } from './transition.ts';
import type { PartitionOutcome, PipelineDeps } from './types.ts';

/** Attempts per invocation when a sweep wins the race for the partition; then the batch is retried. */
const ATTEMPTS = 3;

/**
 * Applies one partition's records: skip what is committed, parse, fold, and commit the
 * transition. Bad records become rejections; only infrastructure failures throw.
 */
export async function processPartition(deps: PipelineDeps, batch: PartitionBatch): Promise<PartitionOutcome> {
  const started = performance.now();
  const timed = timedDeps(deps);
  for (let attempt = 1; ; attempt++) {
    try {
      const done = await attemptPartition(timed.deps, batch);
      return {
        ...done,
        durationMs: round(performance.now() - started),
        dynamodbMs: round(timed.timings.dynamodbMs),
        postgresMs: round(timed.timings.postgresMs),
      };
    } catch (error) {
      if (!(error instanceof CheckpointConflictError) || attempt >= ATTEMPTS) throw error;
    }
  }
}

type Untimed = Omit<PartitionOutcome, 'durationMs' | 'dynamodbMs' | 'postgresMs'>;

async function attemptPartition(deps: PipelineDeps, batch: PartitionBatch): Promise<Untimed> {
  const { store, settings } = deps;
  const { topic, partition } = batch;
  let commits = 0;
  let read = await store.readPartition(topic, partition);
  if (read.claim?.kind === 'sweep') {
    read = await redoPendingSweep(deps, read);
    commits++;
  }

  const fresh = batch.records.filter((r) => r.offset >= read.state.nextOffset);
  const skipped = batch.records.length - fresh.length;
  const last = fresh.at(-1);
  if (last === undefined) return outcome(batch, read, { skipped, commits });

  const { events, rejections } = parseAll(fresh, deps);
  const watermark = watermarkAfter(settings.engine, read.state, events);
  const due = watermark === null ? [] : await store.queryDue(topic, partition, watermark);
  const userIds = new Set(due);
  for (const event of events) userIds.add(event.userId);
  const users = await store.readUsers(topic, partition, [...userIds]);

  const endOffset = last.offset + 1;
  const result = fold({
    config: settings.engine,
    partition: read.state,
    users,
    records: events,
    endOffset,
    nowMs: deps.now(),
  });
  const byOffset = new Map(fresh.map((r) => [r.offset, r]));
  for (const late of result.late) {
    const record = byOffset.get(late.offset) as KafkaRecord;
    rejections.push(
      rejectLate(
        record,
        `event time ${late.eventTime} of ${late.userId}: its session had closed at watermark ${late.watermark}`,
      ),
    );
  }

  const claim = { kind: 'batch' as const, epoch: read.epoch + 1, claimedAt: deps.now() };
  const committed = await commitTransition(deps, read, claim, endOffset, result, rejections);
  return outcome(batch, committed, { skipped, commits: commits + 1, fresh, result, rejections });
}

function parseAll(
  records: readonly KafkaRecord[],
  deps: PipelineDeps,
): { events: EventRecord[]; rejections: Rejection[] } {
  const options = {
    eventTimeSource: deps.settings.eventTimeSource,
    maxUserIdLength: MAX_USER_ID_LENGTH,
    // The session end (t + G) must stay a valid timestamp too.
    maxEventTimeMs: MAX_EVENT_TIME_MS - deps.settings.engine.gapMs,
  };
  const events: EventRecord[] = [];
  const rejections: Rejection[] = [];
  for (const record of records) {
    const parsed = parseRecord(record, options);
    if (parsed.ok) events.push(parsed.event);
    else rejections.push(parsed.rejection);
  }
  return { events, rejections };
}

function outcome(
  batch: PartitionBatch,
  checkpoint: PartitionCheckpoint,
  details: {
    skipped: number;
    commits: number;
    fresh?: readonly KafkaRecord[];
    result?: FoldResult;
    rejections?: readonly Rejection[];
  },
): Untimed {
  const rejected: Partial<Record<RejectReason, number>> = {};
  for (const r of details.rejections ?? []) rejected[r.reason] = (rejected[r.reason] ?? 0) + 1;
  return {
    topic: batch.topic,
    partition: batch.partition,
    firstOffset: details.fresh?.[0]?.offset ?? null,
    lastOffset: details.fresh?.at(-1)?.offset ?? null,
    records: details.fresh?.length ?? 0,
    skipped: details.skipped,
    emitted: details.result?.emitted.length ?? 0,
    superseded: details.result?.superseded.length ?? 0,
    rejected,
    late: details.result?.late.length ?? 0,
    watermark: checkpoint.state.watermark,
    usersTouched: details.result?.users.size ?? 0,
    commits: details.commits,
  };
}
