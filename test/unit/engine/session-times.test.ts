import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type EngineConfig,
  type EventRecord,
  type FoldResult,
  fold,
  initialPartitionState,
  type PartitionState,
  type UserState,
} from '../../../lib/engine/index.ts';
import { type ReferenceSession, referenceSessions } from '../../../reference/sessions.ts';
import { MemorySink } from '../../helpers/memory-sink.ts';
import { cutsArb, latenessConfigArb, type StreamCase, streamArb } from '../../helpers/streams.ts';

// Issue 12: the session table (user_sessions) holds, for every session, the time of its first and
// latest event, the duration between them and the count. Stated as properties: for random streams
// cut into batches anywhere (and batches re-delivered over already applied records), every emitted
// session is well formed, and the table the sink builds from the emissions equals the reference's
// (test/helpers/reference.ts, a naive Flink WindowOperator): its final rows at any time, and every
// row after a final idle tick (the end-of-stream flush, docs/DESIGN.md section 4).

const FENCE = {
  topic: 'user_activity',
  partition: 0,
  generation: 'g',
  watermark: null,
  allowedLatenessMs: 0,
};

interface Delivery {
  readonly stream: StreamCase;
  /** Offsets where a new batch starts. */
  readonly cuts: readonly number[];
  /** Per batch, how many already applied records it repeats (a re-delivery overlapping the last). */
  readonly rewinds: readonly number[];
}

const deliveryArb = (streams: fc.Arbitrary<StreamCase>): fc.Arbitrary<Delivery> =>
  streams.chain((stream) =>
    fc.record({
      stream: fc.constant(stream),
      cuts: cutsArb(stream.records.length),
      rewinds: fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 9 }),
    }),
  );

/** Folds the batches of a delivery (every user loaded), each result written to a MemorySink. */
async function deliver({ stream, cuts, rewinds }: Delivery) {
  const { config, records } = stream;
  const sink = new MemorySink();
  const emitted: FoldResult['emitted'][number][] = [];
  let partition: PartitionState = initialPartitionState();
  const users = new Map<string, UserState>();
  let epoch = 0;
  const apply = async (result: FoldResult): Promise<void> => {
    partition = result.partition;
    for (const [userId, state] of result.users) users.set(userId, state);
    emitted.push(...result.emitted);
    await sink.write({ ...result, rejections: [] }, { ...FENCE, epoch: ++epoch });
  };
  const bounds = [0, ...cuts, records.length];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const to = bounds[i + 1] as number;
    const batch = records.slice(Math.max(0, (bounds[i] as number) - (rewinds[i] ?? 0)), to);
    await apply(fold({ config, partition, users, records: batch, endOffset: to }));
  }
  const beforeFlush = tableOf(sink);
  const watermark = partition.watermark ?? Number.NEGATIVE_INFINITY;
  // The end of the stream: an idle tick, with the idle flush on for it.
  const tick = { offset: records.length, tick: true as const, timestamp: 0 };
  await apply(
    fold({
      config: { ...config, idleFlush: true },
      partition,
      users,
      records: [tick],
      endOffset: records.length + 1,
    }),
  );
  return { emitted, beforeFlush, watermark, afterFlush: tableOf(sink), sink };
}

/** user_sessions as the reference describes a row. */
function tableOf(sink: MemorySink): Map<string, ReferenceSession> {
  const table = new Map<string, ReferenceSession>();
  for (const [key, { userId, start, last, end, count, durationMs }] of sink.sessions) {
    table.set(key, { userId, start, last, end, count, durationMs });
  }
  return table;
}

function expectWellFormed(config: EngineConfig, emitted: readonly FoldResult['emitted'][number][]): void {
  for (const s of emitted) {
    expect(s.last).toBeGreaterThanOrEqual(s.start);
    expect(s.end).toBe(s.last + config.gapMs);
    expect(s.count).toBeGreaterThanOrEqual(1);
    // One event: start = last, so the duration is 0; a longer session has at least two events.
    if (s.count === 1) expect(s.last).toBe(s.start);
  }
}

const STREAMS = [
  { streams: 'any configuration', arb: streamArb() },
  {
    streams: 'allowed lateness of 1-6 gaps, B <= 1 (late joins move starts and bridge sessions)',
    arb: streamArb(latenessConfigArb, 2),
  },
];

describe.each(STREAMS)('session times, with $streams', ({ arb }) => {
  it('equal the reference’s (start, last event, duration, end, count) for every batch cut and re-delivery', async () => {
    await fc.assert(
      fc.asyncProperty(deliveryArb(arb), async (delivery) => {
        // Act
        const { emitted, beforeFlush, watermark, afterFlush, sink } = await deliver(delivery);
        const { config, records } = delivery.stream;
        const reference = referenceSessions(config, records);
        const flushed = referenceSessions(config, records, { flushTo: Number.POSITIVE_INFINITY });
        const final = (table: Map<string, ReferenceSession>) =>
          new Map([...table].filter(([, s]) => s.end - 1 + config.allowedLatenessMs <= watermark));

        // Assess: final rows are the reference's as they stand, and include every row it finishes.
        expectWellFormed(config, emitted);
        const finalRows = final(beforeFlush);
        for (const [key, row] of finalRows) expect(reference.sessions.get(key)).toEqual(row);
        for (const [key, row] of final(flushed.sessions)) expect(finalRows.get(key)).toEqual(row);
        expect(afterFlush).toEqual(flushed.sessions);
        // The two tables hold the same sessions (one transaction writes both).
        expect([...sink.sessions.keys()].sort()).toEqual([...sink.rows.keys()].sort());
      }),
      { numRuns: 300 },
    );
  }, 30_000);
});

describe('session times, worked examples', () => {
  const config: EngineConfig = {
    gapMs: 5000,
    outOfOrdernessMs: 0,
    allowedLatenessMs: 0,
    idleFlush: false,
  };

  it('gives the seed scenario durations of 1000 ms and 0 ms', async () => {
    // Prepare
    const records: EventRecord[] = [
      { offset: 0, userId: 'user_A', eventTime: 1000, timestamp: 0 },
      { offset: 1, userId: 'user_A', eventTime: 2000, timestamp: 0 },
      { offset: 2, userId: 'user_A', eventTime: 8000, timestamp: 0 },
    ];

    // Act
    const { afterFlush } = await deliver({ stream: { config, records }, cuts: [], rewinds: [] });

    // Assess
    expect([...afterFlush.values()]).toEqual([
      { userId: 'user_A', start: 1000, last: 2000, end: 7000, count: 2, durationMs: 1000 },
      { userId: 'user_A', start: 8000, last: 8000, end: 13_000, count: 1, durationMs: 0 },
    ]);
  });

  it('keeps the latest event time when an earlier straggler (within B) joins a session', async () => {
    // Prepare: 3000 arrives after 4000; the session is [3000, 9000) and its last event is at 4000.
    const records: EventRecord[] = [
      { offset: 0, userId: 'user_A', eventTime: 4000, timestamp: 0 },
      { offset: 1, userId: 'user_A', eventTime: 3000, timestamp: 0 },
    ];

    // Act
    const { afterFlush } = await deliver({
      stream: { config: { ...config, outOfOrdernessMs: 2000 }, records },
      cuts: [1],
      rewinds: [],
    });

    // Assess
    expect([...afterFlush.values()]).toEqual([
      { userId: 'user_A', start: 3000, last: 4000, end: 9000, count: 2, durationMs: 1000 },
    ]);
  });
});
