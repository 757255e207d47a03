import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  advanceTo,
  type EngineConfig,
  type EventRecord,
  type FoldResult,
  fold,
  initialPartitionState,
  nextDue,
  type PartitionState,
  type UserState,
  watermarkAfter,
} from '../../../lib/engine/index.ts';
import { referenceSessions } from '../../helpers/reference.ts';
import { cutsArb, latenessConfigArb, type StreamCase, streamArb } from '../../helpers/streams.ts';
import { applyResults } from './factories.ts';

// DESIGN.md section 5 stated directly: rows depend only on each partition's records in order, not
// on batch cuts, re-deliveries, crashes between the writes of a transition, or which users the due
// index loaded; and they are Flink's rows.

/** Beyond every end - 1 + L the generators can produce: the idle flush that closes everything. */
const FLUSH = 1_000_000;

/**
 * Which users a fold gets: all of them; those with records plus those the due index says fire by the
 * fold's final W (watermarkAfter + nextDue); or the same from an eventually consistent index that
 * sometimes misses a due user, which a later fold's catch-up must then fire with the same rows.
 */
type Loading = 'every user' | 'due index' | 'lagging due index';

interface Outcome {
  rows: Map<string, { count: number; end: number }>;
  flushedRows: Map<string, { count: number; end: number }>;
  late: number[];
  partition: PartitionState;
  users: Map<string, UserState>;
}

interface Delivery {
  /** Batch boundaries (offsets where a new batch starts). */
  readonly cuts: readonly number[];
  /** Per batch, how many already applied records it repeats (a re-delivery overlapping the last). */
  readonly rewinds: readonly number[];
  readonly loading: Loading;
  /** For a lagging index: whether each due user it considers is missed this time (cycled). */
  readonly misses: readonly boolean[];
  /**
   * Per batch, whether its first attempt crashes after the sink write and part of the user writes,
   * before the partition state is committed (DESIGN.md section 5 order); the batch is re-delivered.
   */
  readonly crashes: readonly boolean[];
  /** For a crashed attempt: whether each changed user's state was written before the crash (cycled). */
  readonly written: readonly boolean[];
}

/** The users a handler would load (see Loading). */
function load(
  config: EngineConfig,
  partition: PartitionState,
  store: Map<string, UserState>,
  batch: EventRecord[],
  delivery: Delivery & { missed: number },
): Map<string, UserState> {
  if (delivery.loading === 'every user') return new Map(store);
  const w = watermarkAfter(config, partition, batch);
  const loaded = new Map<string, UserState>();
  for (const [userId, state] of store) {
    const due = nextDue(state);
    if (batch.some((r) => r.userId === userId)) {
      loaded.set(userId, state);
    } else if (w !== null && due !== null && due <= w) {
      const missed = delivery.misses[delivery.missed++ % Math.max(1, delivery.misses.length)] ?? false;
      if (!(delivery.loading === 'lagging due index' && missed)) loaded.set(userId, state);
    }
  }
  return loaded;
}

/** Of the users a fold saw, none has a due pending session left; sessions are sorted and apart. */
function assertInvariant(partition: PartitionState, users: Iterable<UserState>): void {
  const w = partition.watermark ?? Number.NEGATIVE_INFINITY;
  for (const { sessions } of users) {
    for (const [i, s] of sessions.entries()) {
      expect(s.pending && s.end - 1 <= w).toBe(false);
      expect(s.count).toBeGreaterThan(0);
      const next = sessions[i + 1];
      if (next !== undefined) expect(s.end).toBeLessThan(next.start);
    }
  }
}

function deliver({ config, records }: StreamCase, delivery: Delivery): Outcome {
  let partition = initialPartitionState();
  const store = new Map<string, UserState>();
  const results: FoldResult[] = [];
  const counters = { ...delivery, missed: 0, writes: 0 };
  const attempt = (batch: EventRecord[], endOffset: number, nowMs: number, crash: boolean): void => {
    const users = load(config, partition, store, batch, counters);
    const result = fold({ config, partition, users, records: batch, endOffset, nowMs });
    results.push(result);
    assertInvariant(result.partition, [...new Map([...users, ...result.users]).values()]);
    for (const [userId, state] of result.users) {
      const written = !crash || (delivery.written[counters.writes++ % delivery.written.length] ?? true);
      if (written) store.set(userId, state);
    }
    if (!crash) partition = result.partition;
  };
  const bounds = [0, ...delivery.cuts, records.length];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const from = Math.max(0, (bounds[i] as number) - (delivery.rewinds[i] ?? 0));
    const to = bounds[i + 1] as number;
    const batch = records.slice(from, to);
    if (delivery.crashes[i] === true) attempt(batch, to, i, true);
    attempt(batch, to, i, false);
  }
  const rows = applyResults(new Map(), results);
  // A crashed attempt's rejections were written too; rejected_events is keyed by offset.
  const late = [...new Set(results.flatMap((r) => r.late.map((e) => e.offset)))].sort((a, b) => a - b);
  const flush = advanceTo({ config, partition, users: store, watermark: FLUSH });
  return { rows, flushedRows: applyResults(new Map(rows), [flush]), late, partition, users: store };
}

const oneBatch = (stream: StreamCase): Outcome =>
  deliver(stream, { cuts: [], rewinds: [], loading: 'every user', misses: [], crashes: [], written: [] });

const STREAMS = [
  { streams: 'any configuration', arb: streamArb() },
  { streams: 'allowed lateness of 1-6 gaps, B <= 1', arb: streamArb(latenessConfigArb, 2) },
];

function deliveredArb(streams: fc.Arbitrary<StreamCase>) {
  return streams.chain((stream) =>
    fc.record({
      stream: fc.constant(stream),
      cuts: cutsArb(stream.records.length),
      rewinds: fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 10 }),
      misses: fc.array(fc.boolean(), { maxLength: 5 }),
      crashes: fc.array(fc.boolean(), { maxLength: 10 }),
      written: fc.array(fc.boolean(), { maxLength: 5 }),
    }),
  );
}

describe.each(STREAMS)('with $streams', ({ arb }) => {
  describe.each<Loading>(['every user', 'due index', 'lagging due index'])(
    'batch independence, loading %s',
    (loading) => {
      it('gives the rows and late records of one batch, whatever the cuts, re-deliveries and crashes', () => {
        fc.assert(
          fc.property(deliveredArb(arb), (delivery) => {
            // Act
            const whole = oneBatch(delivery.stream);
            const batched = deliver(delivery.stream, { ...delivery, loading });

            // Assess: a lagging index may leave sessions unfired until the flush, which loads everyone.
            if (loading !== 'lagging due index') expect(batched.rows).toEqual(whole.rows);
            expect(batched.flushedRows).toEqual(whole.flushedRows);
            expect(batched.late).toEqual(whole.late);
            expect({ ...batched.partition, lastArrivalMs: null }).toEqual({
              ...whole.partition,
              lastArrivalMs: null,
            });
            if (loading === 'every user') expect(batched.users).toEqual(whole.users);
          }),
          { numRuns: 250 },
        );
      });
    },
  );

  it('agrees with the reference (naive Flink WindowOperator) on rows and late records, before and after the final flush', () => {
    fc.assert(
      fc.property(arb, (stream) => {
        // Act
        const engine = oneBatch(stream);
        const reference = referenceSessions(stream.config, stream.records);
        const flushed = referenceSessions(stream.config, stream.records, { flushTo: FLUSH });

        // Assess
        expect(engine.rows).toEqual(reference.rows);
        expect(engine.late).toEqual(reference.lateOffsets);
        expect(engine.flushedRows).toEqual(flushed.rows);
      }),
      { numRuns: 500 },
    );
  });
});
