import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type KafkaRecord, TICK_HEADER, TICK_HEADER_VALUE } from '../../../lib/decode/index.ts';
import type { EngineConfig, EventRecord } from '../../../lib/engine/index.ts';
import { createWarmState, type PipelineDeps, processPartition } from '../../../lib/pipeline/index.ts';
import { referenceSessions } from '../../../reference/sessions.ts';
import { Crash, MemorySink, MemoryStore, type Step } from '../../helpers/memory-store.ts';

// docs/STATE.md section 4: a crash after any step (the claim, the sink, each state piece, the
// commit, or after the commit but before the return), followed by re-delivery from the last
// acknowledged offset, any number of times, with batches cut differently, containers that keep
// or lose their memory, and two containers taking the partition in turns (a warm one whose memory
// is behind the table folds, then has its claim refused: section 3), ends in the same rows and
// rejected_events as a run without crashes; and
// those are the reference's (a naive Flink over the records alone): its late records and, after
// the final idle tick, its rows with an end-of-stream flush.

const TOPIC = 'user_activity';
const BASE_TIME = 1_700_000_000_000;

type Value = { user: number; jump: number; tick: false } | { tick: true; stamp: number } | null;

/**
 * Records of one partition: events, idle ticks (stamped anywhere: the fold must not care) and
 * garbage; and, for the reference, the events as the parser should read them. The log ends with an
 * idle tick: the end of the stream.
 */
function toRecords(values: readonly Value[]): { records: KafkaRecord[]; events: EventRecord[] } {
  let t = 0;
  let logTime = BASE_TIME;
  const events: EventRecord[] = [];
  const tick = (offset: number, timestamp: number): KafkaRecord => ({
    topic: TOPIC,
    partition: 0,
    offset,
    timestampType: 'CREATE_TIME',
    key: null,
    timestamp,
    value: null,
    headers: [{ key: TICK_HEADER, value: Buffer.from(TICK_HEADER_VALUE) }],
  });
  const records = values.map((value, offset): KafkaRecord => {
    const common = { topic: TOPIC, partition: 0, offset, timestampType: 'CREATE_TIME' as const, key: null };
    if (value === null) {
      logTime += 100;
      return { ...common, timestamp: logTime, value: Buffer.from('not a record'), headers: [] };
    }
    if (value.tick) return tick(offset, BASE_TIME + value.stamp);
    // Event times walk forward in steps around the gap, with some disorder.
    t = Math.max(0, t + (value.jump - 10) * 250); // -2500 .. +7500 ms: around G = 5000
    // Kafka timestamps from a clock that jumps back and forth: nothing may depend on them.
    logTime += (value.jump % 7) * 1000 - 3000;
    events.push({ offset, userId: `user_${value.user}`, eventTime: t, timestamp: logTime });
    return { ...common, timestamp: logTime, value: Buffer.from(`user_${value.user},${t}`), headers: [] };
  });
  records.push(tick(records.length, 0));
  return { records, events };
}

function deps(engine: EngineConfig, store: MemoryStore, sink: MemorySink): PipelineDeps {
  return {
    store,
    sink,
    now: () => BASE_TIME,
    settings: { engine, eventTimeSource: 'payload', stateTtlDays: 2, journalMax: 3 },
    warm: createWarmState(),
  };
}

type CrashPoint = Step | 'return' | null;

/** Plays the records through like the event source mapping: acknowledged offset, batches, retries. */
async function play(
  engine: EngineConfig,
  records: readonly KafkaRecord[],
  batchSizes: readonly number[],
  crashes: readonly CrashPoint[],
  pieceCrashAfter: number,
  coldStarts: readonly boolean[],
  owners: readonly number[] = [],
) {
  const store = new MemoryStore();
  const sink = new MemorySink();
  const base = deps(engine, store, sink);
  // Each container's memory; the invocation runs in the one `owners` names (the first by default).
  const containers = [base.warm, createWarmState()];
  let acknowledged = 0;
  let invocation = 0;
  while (acknowledged < records.length) {
    const size = batchSizes[invocation % batchSizes.length] ?? 1;
    const batch = records.slice(acknowledged, acknowledged + size);
    const crashAt = crashes[invocation] ?? null;
    const owner = owners[invocation] ?? 0;
    // A new container (no memory) now and then; the same one otherwise.
    if (coldStarts[invocation] === true) containers[owner] = createWarmState();
    const d = { ...base, warm: containers[owner] as PipelineDeps['warm'] };
    invocation++;
    let piecesWritten = 0;
    store.afterStep = (step) => {
      if (step === 'piece') piecesWritten++;
      if (crashAt === step && (step !== 'piece' || piecesWritten > pieceCrashAfter)) throw new Crash(step);
    };
    sink.afterWrite = () => {
      if (crashAt === 'sink') throw new Crash('sink');
    };
    try {
      await processPartition(d, { topic: TOPIC, partition: 0, records: batch });
      if (crashAt === 'return') throw new Crash('commit');
      acknowledged += batch.length;
    } catch (error) {
      if (!(error instanceof Crash)) throw error;
      // The process died: its memory is gone. The same offsets are delivered again, maybe cut differently.
      containers[owner] = createWarmState();
    }
    if (invocation > 10_000) throw new Error('no progress');
  }
  return {
    rows: Object.fromEntries([...sink.rows].sort()),
    rejected: Object.fromEntries([...sink.rejected].sort()),
    watermark: sink.fences.get(`${TOPIC}#0`)?.watermark ?? null,
  };
}

const valueArb: fc.Arbitrary<Value> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({
      user: fc.integer({ min: 0, max: 3 }),
      jump: fc.integer({ min: 0, max: 40 }),
      tick: fc.constant(false as const),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      tick: fc.constant(true as const),
      stamp: fc.integer({ min: -100_000_000, max: 100_000_000_000 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant(null) },
);

const engineArb = fc.record({
  gapMs: fc.constant(5000),
  outOfOrdernessMs: fc.constantFrom(0, 1000, 3000),
  allowedLatenessMs: fc.constantFrom(0, 2000),
  idleFlush: fc.boolean(),
});

const crashArb = fc.array(
  fc.constantFrom<CrashPoint>('claim', 'sink', 'piece', 'commit', 'return', null, null),
  {
    maxLength: 30,
  },
);

describe('crash and re-delivery (property)', () => {
  it('ends in the same rows and rejections as a run without crashes', async () => {
    await fc.assert(
      fc.asyncProperty(
        engineArb,
        fc.array(valueArb, { minLength: 1, maxLength: 60 }),
        fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 5 }),
        crashArb,
        fc.integer({ min: 0, max: 2 }),
        fc.array(fc.boolean(), { maxLength: 20 }),
        fc.array(fc.integer({ min: 0, max: 1 }), { maxLength: 20 }),
        async (engine, values, cuts, crashes, pieceCrashAfter, coldStarts, owners) => {
          // Prepare
          const { records, events } = toRecords(values);

          // Act
          const clean = await play(engine, records, [records.length], [], 0, []);
          const crashed = await play(engine, records, cuts, crashes, pieceCrashAfter, coldStarts, owners);
          const reference = referenceSessions(engine, events, { flushTo: Number.POSITIVE_INFINITY });

          // Assess: the same as without crashes...
          expect(crashed).toEqual(clean);
          // ...and the reference's: every late record, every garbage record rejected, nothing else.
          const rejected = (reason: string) =>
            Object.entries(crashed.rejected)
              .filter(([, r]) => r === reason)
              .map(([key]) => Number(key.split('#')[2]))
              .sort((a, b) => a - b);
          expect(rejected('late')).toEqual([...reference.lateOffsets].sort((a, b) => a - b));
          expect(rejected('wrong_field_count')).toEqual(
            values.flatMap((v, offset) => (v === null ? [offset] : [])),
          );
          // Rows Flink finishes by the final watermark are final here too; after the last tick,
          // with the idle flush on, every row is Flink's with an end-of-stream flush.
          const w = crashed.watermark ?? Number.NEGATIVE_INFINITY;
          const expected: Record<string, { count: number; end: number }> = Object.fromEntries(
            [...reference.rows].map(([key, row]) => [key, { count: row.count, end: row.end }]).sort(),
          );
          for (const [key, row] of Object.entries(expected)) {
            if (row.end - 1 + engine.allowedLatenessMs <= w) expect(crashed.rows[key]).toEqual(row);
          }
          if (engine.idleFlush) expect(crashed.rows).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  }, 120_000);
});
