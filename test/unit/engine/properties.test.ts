import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type FoldResult,
  fold,
  initialPartitionState,
  type LogRecord,
  PartitionSessions,
  type PartitionState,
  type UserState,
} from '../../../lib/engine/index.ts';
import { referenceSessions } from '../../../reference/sessions.ts';
import { cutsArb, latenessConfigArb, type StreamCase, streamArb } from '../../helpers/streams.ts';
import { applyResults } from './factories.ts';

// docs/DESIGN.md sections 4 and 5 stated directly: rows depend only on each partition's log in
// order (events and idle ticks), not on batch cuts, re-deliveries, crashes before a commit, or
// whether the state stayed in memory between batches; every final row and every late record is
// Flink's, whatever the ticks and the Kafka timestamps; ticks only make rows appear early.

interface Outcome {
  rows: Map<string, { count: number; end: number }>;
  flushedRows: Map<string, { count: number; end: number }>;
  late: number[];
  partition: PartitionState;
  users: UserState[];
}

interface Delivery {
  /** Batch boundaries (offsets where a new batch starts). */
  readonly cuts: readonly number[];
  /** Per batch, how many already applied records it repeats (a re-delivery overlapping the last). */
  readonly rewinds: readonly number[];
  /** Per batch, whether its first attempt dies after the sink write, before the commit. */
  readonly crashes: readonly boolean[];
  /** 'cold': every batch folds the committed state as plain data; 'warm': one engine kept in memory. */
  readonly memory: 'cold' | 'warm';
}

/** Of the users a fold holds, none has a due pending session left; sessions are sorted and apart. */
function assertInvariant(partition: PartitionState, users: Iterable<UserState>): void {
  const w = partition.watermark ?? Number.NEGATIVE_INFINITY;
  for (const { sessions } of users) {
    for (const [i, s] of sessions.entries()) {
      expect(s.pending && s.end - 1 <= w).toBe(false);
      expect(s.count).toBeGreaterThan(0);
      expect(s.last).toBeGreaterThanOrEqual(s.start);
      const next = sessions[i + 1];
      if (next !== undefined) expect(s.end).toBeLessThan(next.start);
    }
  }
}

function deliver({ config, records }: StreamCase, delivery: Delivery): Outcome {
  let partition = initialPartitionState();
  let store = new Map<string, UserState>();
  let warm: PartitionSessions | undefined;
  const results: FoldResult[] = [];
  const attempt = (batch: LogRecord[], endOffset: number, crash: boolean): void => {
    let result: FoldResult;
    if (delivery.memory === 'warm') {
      warm ??= new PartitionSessions(config, partition, store.values());
      result = warm.apply(batch, endOffset);
      if (crash) warm = undefined; // a failed transition forgets its memory
    } else {
      result = fold({ config, partition, users: store, records: batch, endOffset });
    }
    // The sink write happened (crash after it): its rows and rejections are there.
    results.push(result);
    if (crash) return;
    const next = new Map(store);
    for (const [userId, state] of result.users) {
      if (state.sessions.length === 0) next.delete(userId);
      else next.set(userId, state);
    }
    assertInvariant(result.partition, next.values());
    store = next;
    partition = result.partition;
  };
  const bounds = [0, ...delivery.cuts, records.length];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const from = Math.max(0, (bounds[i] as number) - (delivery.rewinds[i] ?? 0));
    const to = bounds[i + 1] as number;
    const batch = records.slice(from, to);
    if (delivery.crashes[i] === true) attempt(batch, to, true);
    attempt(batch, to, false);
  }
  const rows = applyResults(new Map(), results);
  // A crashed attempt's rejections were written too; rejected_events is keyed by offset.
  const late = [...new Set(results.flatMap((r) => r.late.map((e) => e.offset)))].sort((a, b) => a - b);
  // The end of the stream: an idle tick with the idle flush on writes whatever is unwritten.
  const flush = fold({
    config: { ...config, idleFlush: true },
    partition,
    users: store,
    records: [{ offset: records.length, tick: true, timestamp: 0 }],
    endOffset: records.length + 1,
  });
  return {
    rows,
    flushedRows: applyResults(new Map(rows), [flush]),
    late,
    partition,
    users: [...store.values()],
  };
}

const oneBatch = (stream: StreamCase): Outcome =>
  deliver(stream, { cuts: [], rewinds: [], crashes: [], memory: 'cold' });

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
      crashes: fc.array(fc.boolean(), { maxLength: 10 }),
    }),
  );
}

describe.each(STREAMS)('with $streams', ({ arb }) => {
  describe.each<Delivery['memory']>(['cold', 'warm'])(
    'batch independence, state %s between batches',
    (memory) => {
      it('gives the rows, late records and state of one batch, whatever the cuts, re-deliveries and crashes', () => {
        fc.assert(
          fc.property(deliveredArb(arb), (delivery) => {
            // Act
            const whole = oneBatch(delivery.stream);
            const batched = deliver(delivery.stream, { ...delivery, memory });

            // Assess
            expect(batched.rows).toEqual(whole.rows);
            expect(batched.flushedRows).toEqual(whole.flushedRows);
            expect(batched.late).toEqual(whole.late);
            expect(batched.partition).toEqual(whole.partition);
            const byUser = (users: UserState[]) => new Map(users.map((u) => [u.userId, u]));
            expect(byUser(batched.users)).toEqual(byUser(whole.users));
          }),
          { numRuns: 200 },
        );
      }, 60_000);
    },
  );

  it('agrees with the reference (a naive Flink WindowOperator over the records alone) on late records, final rows, and every row after a final flush', () => {
    fc.assert(
      fc.property(arb, (stream) => {
        // Act
        const engine = oneBatch(stream);
        const reference = referenceSessions(stream.config, stream.records);
        const flushed = referenceSessions(stream.config, stream.records, { flushTo: Infinity });

        // Assess: the fate of every record is Flink's.
        expect(engine.late).toEqual(reference.lateOffsets);
        // Final rows (the records' watermark has passed end - 1 + L) are Flink's rows as they
        // stand, and every row Flink finishes by then is one of them. The others are provisional:
        // written early by a tick, or (L > 0) rewritten at a join where Flink waits for the
        // watermark to pass the new end. (Flink's rows of live sessions can be stale, so the rows it
        // finishes are read after a flush.)
        const w = engine.partition.watermark ?? Number.NEGATIVE_INFINITY;
        const final = (rows: Map<string, { count: number; end: number }>) =>
          new Map([...rows].filter(([, r]) => r.end - 1 + stream.config.allowedLatenessMs <= w));
        const engineFinal = final(engine.rows);
        for (const [key, row] of engineFinal) expect(reference.rows.get(key)).toEqual(row);
        for (const [key, row] of final(flushed.rows)) expect(engineFinal.get(key)).toEqual(row);
        if (!stream.config.idleFlush && stream.config.allowedLatenessMs === 0) {
          expect(engine.rows).toEqual(reference.rows);
        }
        // After the end of the stream, every row is Flink's with an end-of-stream flush.
        expect(engine.flushedRows).toEqual(flushed.rows);
      }),
      { numRuns: 500 },
    );
  }, 60_000);
});
