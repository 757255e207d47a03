import { describe, expect, it } from 'vitest';
import { type PartitionCheckpoint, readImageUsers } from '../../../lib/checkpoint/index.ts';
import { CheckpointLostError } from '../../../lib/errors.ts';
import { createWarmState, handleKafkaEvent, type PipelineDeps } from '../../../lib/pipeline/index.ts';
import { sweepTopic } from '../../../lib/sweep/index.ts';
import { MemorySink, MemoryStore } from '../../helpers/memory-store.ts';
import { Clock, DEFAULT_ENGINE, mskEvent, RecordingTicker } from '../../helpers/pipeline.ts';

// docs/STATE.md section 2, "How long a checkpoint lives": a partition whose trigger is paused
// keeps its checkpoint STATE_TTL_DAYS after its last commit at least, whatever age its snapshot
// had then; raising STATE_TTL_DAYS rewrites the pieces written under the old one before they
// expire; and a checkpoint that did expire is refused on load, naming the partition's recovery.

const DAY = 86_400_000;
const TTL = 2;

/** A container on `store` with STATE_TTL_DAYS `ttl`, the pieces it writes recording `ttl` too. */
function container(store: MemoryStore, sink: MemorySink, clock: Clock, ttl = TTL): PipelineDeps {
  store.stateTtlDays = ttl;
  return {
    store,
    sink,
    now: clock.now,
    settings: { engine: DEFAULT_ENGINE, eventTimeSource: 'payload', stateTtlDays: ttl, journalMax: 32 },
    warm: createWarmState(),
  };
}

/** One event of user_<u> at event time `t`, at `offset`. */
const event = (u: string, t: number, offset: number) => mskEvent([`user_${u},${t}`], offset);

describe('a paused trigger', () => {
  it('finds its checkpoint STATE_TTL_DAYS after the last commit, though the snapshot was then nearly due', async () => {
    // Prepare: a snapshot at day 0; a delta at day 0.99 (the snapshot, 0.99 days old, is not due:
    // it is rewritten at half STATE_TTL_DAYS); then the trigger is paused. Before, its pieces
    // expired STATE_TTL_DAYS after they were written: at day 2, 1.01 days into the pause.
    const store = new MemoryStore();
    const sink = new MemorySink();
    const clock = new Clock();
    const start = clock.ms;
    const job = container(store, sink, clock);
    await handleKafkaEvent(job, event('A', 1000, 0));
    clock.advance(0.99 * DAY);
    const [delta] = await handleKafkaEvent(job, event('B', 2000, 1));

    // Act: the pause lasts STATE_TTL_DAYS (DynamoDB's TTL deletes what has expired), then a new container.
    clock.ms = start + 0.99 * DAY + TTL * DAY;
    store.expire(clock.ms);
    const [resumed] = await handleKafkaEvent(container(store, sink, clock), event('A', 3000, 2));

    // Assess: the state was all there: user_A's session holds both its events.
    const checkpoint = (await store.readPartition('user_activity', 0)) as PartitionCheckpoint;
    const users = readImageUsers(await store.readImages(checkpoint), 'test');
    expect(delta?.image).toBe('delta');
    expect(resumed).toMatchObject({ state: 'cold', image: 'snapshot', liveSessions: 2 });
    expect(users.map((u) => [u.userId, u.sessions.map((s) => s.count)])).toEqual([
      ['user_A', [2]],
      ['user_B', [1]],
    ]);
  });

  it('is refused on load once its pieces expired, with the partition, its last commit and its recovery', async () => {
    // Prepare
    const store = new MemoryStore();
    const sink = new MemorySink();
    const clock = new Clock();
    await handleKafkaEvent(container(store, sink, clock), event('A', 1000, 0));

    // Act: STATE_TTL_DAYS and a half, and a day, later.
    clock.advance((1.5 * TTL + 1) * DAY);
    store.expire(clock.ms);
    const refused = handleKafkaEvent(container(store, sink, clock), event('A', 2000, 1));

    // Assess
    await expect(refused).rejects.toBeInstanceOf(CheckpointLostError);
  });

  it('is told apart by the sweep on its last day (a paused trigger reads no tick)', async () => {
    // Prepare: the trigger is paused with a record unread (the partition is not quiet).
    const store = new MemoryStore();
    const clock = new Clock();
    await handleKafkaEvent(container(store, new MemorySink(), clock), event('A', 1000, 0));
    const ticker = new RecordingTicker();
    ticker.ends.set(0, 2);
    const sweep = { store, ticker, now: clock.now, settings: { idleTimeoutMs: 5000, stateTtlDays: TTL } };

    // Act
    clock.advance(1.5 * TTL * DAY - 1);
    const before = await sweepTopic(sweep, 'user_activity');
    clock.advance(2);
    const lastDay = await sweepTopic(sweep, 'user_activity');

    // Assess
    expect([before.expiring, lastDay.expiring]).toEqual([[], [0]]);
    expect(ticker.sent).toEqual([]);
  });
});

describe('raising STATE_TTL_DAYS on a running table', () => {
  it('rewrites the pieces written under the old setting before they expire', async () => {
    // Prepare: a snapshot at day 0 under STATE_TTL_DAYS 2 (its pieces last until day 4).
    const store = new MemoryStore();
    const sink = new MemorySink();
    const clock = new Clock();
    const start = clock.ms;
    await handleKafkaEvent(container(store, sink, clock, 2), event('A', 1000, 0));

    // Act: at day 0.5 the job runs with STATE_TTL_DAYS 10 (a snapshot half a day old is not due by
    // age); then the trigger is paused for 9 days.
    clock.ms = start + 0.5 * DAY;
    const [raised] = await handleKafkaEvent(container(store, sink, clock, 10), event('B', 2000, 1));
    clock.ms = start + 9.5 * DAY;
    store.expire(clock.ms);
    const [resumed] = await handleKafkaEvent(container(store, sink, clock, 10), event('A', 3000, 2));

    // Assess: the old pieces had less than the new STATE_TTL_DAYS left, so they were rewritten.
    expect(raised?.image).toBe('snapshot');
    expect(resumed).toMatchObject({ state: 'cold', liveSessions: 2 });
  });

  it('lets the sweep refresh a quiet partition whose pieces were written under the old setting', async () => {
    // Prepare
    const store = new MemoryStore();
    const clock = new Clock();
    await handleKafkaEvent(container(store, new MemorySink(), clock, 2), event('A', 1000, 0));
    // The topic's partition count recorded (else the sweep appends it, and the partition is not quiet).
    store.meta = store.meta === null ? null : { ...store.meta, partitions: 1 };
    const ticker = new RecordingTicker();
    ticker.ends.set(0, 1);
    const sweep = (ttl: number) => ({
      store,
      ticker,
      now: clock.now,
      settings: { idleTimeoutMs: null, stateTtlDays: ttl },
    });

    // Act
    clock.advance(0.5 * DAY);
    const unchanged = await sweepTopic(sweep(2), 'user_activity');
    const raised = await sweepTopic(sweep(10), 'user_activity');

    // Assess
    expect([unchanged.refresh, raised.refresh]).toEqual([[], [0]]);
  });
});
