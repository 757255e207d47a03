import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { EngineConfig, EventRecord } from '../../lib/engine/index.ts';
import { handleKafkaEvent } from '../../lib/pipeline/index.ts';
import { referenceSessions } from '../../reference/sessions.ts';
import { createTestPipeline, DEFAULT_ENGINE, mskEvent, tickRecord } from '../helpers/pipeline.ts';
import { readSessions } from '../helpers/session-rows.ts';

// Issue 12 through the handler, against DynamoDB Local and PostgreSQL: user_sessions holds every
// closed session with its times and duration, written with aggregated_counts in one transaction,
// so the two tables always hold the same sessions, whatever is re-delivered or superseded.

type Pipeline = Awaited<ReturnType<typeof createTestPipeline>>;

const seedBatch = JSON.parse(readFileSync(new URL('../../events/seed-batch.json', import.meta.url), 'utf8'));

const TOPIC = 'user_activity';
const FIRST = {
  group_key: 'user_A|1970-01-01T00:00:01.000Z',
  userId: 'user_A',
  start: 1000,
  last: 2000,
  end: 7000,
  count: 2,
  durationMs: 1000,
  topic: TOPIC,
  partition: 0,
};
const SECOND = {
  group_key: 'user_A|1970-01-01T00:00:08.000Z',
  userId: 'user_A',
  start: 8000,
  last: 8000,
  end: 13_000,
  count: 1,
  durationMs: 0,
  topic: TOPIC,
  partition: 0,
};

// The sample batch has a topic of its own (so invoking it locally never moves the job's offsets).
const SEED_TOPIC = 'user_activity_sample';
const SEED_FIRST = { ...FIRST, topic: SEED_TOPIC };
const SEED_SECOND = { ...SECOND, topic: SEED_TOPIC };

/** Both session tables: user_sessions, and the sessions of aggregated_counts, which must agree. */
async function tables(p: Pipeline) {
  const sessions = await readSessions(p.pool);
  const counts = await p.rows();
  expect(counts).toEqual(
    sessions.map((s) => ({
      group_key: s.group_key,
      count: s.count,
      end: new Date(s.end).toISOString().replace('T', ' ').slice(0, -1),
    })),
  );
  return { sessions, counts };
}

/** Records from [userId, eventTime] pairs at consecutive offsets from `first`, and their MSK event. */
function batch(events: readonly (readonly [string, number])[], first: number) {
  const records: EventRecord[] = events.map(([userId, eventTime], i) => ({
    offset: first + i,
    userId,
    eventTime,
    timestamp: 0,
  }));
  return {
    records,
    event: mskEvent(
      events.map(([u, t]) => `${u},${t}`),
      first,
    ),
  };
}

/** The reference's user_sessions rows of records (one partition), as readSessions gives them. */
function expected(config: EngineConfig, records: readonly EventRecord[]) {
  return [...referenceSessions(config, records).sessions]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([group_key, s]) => ({ group_key, ...s, topic: TOPIC, partition: 0 }));
}

describe('user_sessions through the handler, seed scenario', () => {
  let p: Pipeline;
  afterEach(async () => p.cleanup());

  it('gives the first user_A session a duration of 1000 ms, and the second 0 ms once a later event closes it', async () => {
    // Prepare
    p = await createTestPipeline();

    // Act
    await handleKafkaEvent(p.deps, seedBatch);
    const afterSeed = await tables(p);
    await handleKafkaEvent(p.deps, mskEvent(['user_B,20000'], 3, 0, SEED_TOPIC));

    // Assess
    expect(afterSeed.sessions).toEqual([SEED_FIRST]);
    expect((await tables(p)).sessions).toEqual([SEED_FIRST, SEED_SECOND]);
  });

  it('gives the second session 0 ms when the idle flush closes it', async () => {
    // Prepare
    p = await createTestPipeline();
    await handleKafkaEvent(p.deps, seedBatch);

    // Act: an idle tick 15 s after the seed's Kafka timestamps.
    const [outcome] = await handleKafkaEvent(
      p.deps,
      mskEvent([tickRecord(3, 1732435201342 + 15_000, 0, SEED_TOPIC)], 3, 0, SEED_TOPIC),
    );

    // Assess
    expect(outcome).toMatchObject({ ticks: 1, emitted: 1 });
    expect((await tables(p)).sessions).toEqual([SEED_FIRST, SEED_SECOND]);
  });

  it('changes neither table when the batches are delivered again', async () => {
    // Prepare
    p = await createTestPipeline();
    const closing = mskEvent(['user_B,20000'], 3, 0, SEED_TOPIC);
    await handleKafkaEvent(p.deps, seedBatch);
    await handleKafkaEvent(p.deps, closing);
    const before = await tables(p);

    // Act
    const [again] = await handleKafkaEvent(p.deps, seedBatch);
    await handleKafkaEvent(p.deps, closing);

    // Assess
    expect(again).toMatchObject({ records: 0, skipped: 3 });
    expect(await tables(p)).toEqual(before);
    expect(before.sessions).toEqual([SEED_FIRST, SEED_SECOND]);
  });
});

describe('user_sessions through the handler, allowed lateness 10 s', () => {
  const config: EngineConfig = { ...DEFAULT_ENGINE, allowedLatenessMs: 10_000 };
  let p: Pipeline;
  afterEach(async () => p.cleanup());

  it('updates the duration when a late event extends a fired session, and deletes the row it supersedes when one moves its start', async () => {
    // Prepare: [1000, 7000) fires when user_A,9000 moves W to 8999.
    p = await createTestPipeline({ engine: config });
    const first = batch(
      [
        ['user_A', 1000],
        ['user_A', 2000],
        ['user_A', 9000],
      ],
      0,
    );
    await handleKafkaEvent(p.deps, first.event);
    const fired = await tables(p);

    // Act: 2500 joins the fired session (its last event: duration 1500); then 500 moves its start.
    const extend = batch([['user_A', 2500]], 3);
    await handleKafkaEvent(p.deps, extend.event);
    const extended = await tables(p);
    const move = batch([['user_A', 500]], 4);
    await handleKafkaEvent(p.deps, move.event);
    const moved = await tables(p);

    // Assess
    expect(fired.sessions).toEqual([FIRST]);
    expect(extended.sessions).toEqual([{ ...FIRST, last: 2500, end: 7500, count: 3, durationMs: 1500 }]);
    expect(moved.sessions).toEqual([
      {
        ...FIRST,
        group_key: 'user_A|1970-01-01T00:00:00.500Z',
        start: 500,
        last: 2500,
        end: 7500,
        count: 4,
        durationMs: 2000,
      },
    ]);
    expect(moved.sessions).toEqual(expected(config, [...first.records, ...extend.records, ...move.records]));
  });

  it('merges two fired sessions bridged by a late event into one row and deletes the other from both tables', async () => {
    // Prepare: [1000, 6000) fires at W = 9999 and [10000, 15000) at W = 14999; the first is kept
    // until W >= 5999 + L.
    p = await createTestPipeline({ engine: config });
    const fired = batch(
      [
        ['user_A', 1000],
        ['user_A', 10_000],
        ['user_B', 15_000],
      ],
      0,
    );
    await handleKafkaEvent(p.deps, fired.event);
    const before = await tables(p);

    // Act: 5000's window [5000, 10000) touches both.
    const bridge = batch([['user_A', 5000]], 3);
    const [outcome] = await handleKafkaEvent(p.deps, bridge.event);
    const after = await tables(p);

    // Assess
    expect(before.sessions.map((s) => [s.group_key, s.durationMs])).toEqual([
      ['user_A|1970-01-01T00:00:01.000Z', 0],
      ['user_A|1970-01-01T00:00:10.000Z', 0],
    ]);
    expect(outcome).toMatchObject({ late: 0, superseded: 1 });
    expect(after.sessions).toEqual([
      {
        group_key: 'user_A|1970-01-01T00:00:01.000Z',
        userId: 'user_A',
        start: 1000,
        last: 10_000,
        end: 15_000,
        count: 3,
        durationMs: 9000,
        topic: TOPIC,
        partition: 0,
      },
    ]);
    expect(after.sessions).toEqual(expected(config, [...fired.records, ...bridge.records]));

    // A re-delivery of both batches changes nothing.
    await handleKafkaEvent(p.deps, fired.event);
    await handleKafkaEvent(p.deps, bridge.event);
    expect(await tables(p)).toEqual(after);
  });
});
