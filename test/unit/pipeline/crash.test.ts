import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { EngineConfig } from '../../../lib/engine/types.ts';
import type { KafkaRecord } from '../../../lib/kafka/types.ts';
import type { PipelineDeps } from '../../../lib/pipeline/index.ts';
import { processPartition } from '../../../lib/pipeline/index.ts';
import { Crash, MemorySink, MemoryStore, type Step } from '../../helpers/memory-store.ts';

// DESIGN.md section 5, property (b): a crash after any step (after the claim, after the sink,
// after some of the user writes, after the commit but before the return), followed by
// re-delivery from the last acknowledged offset, any number of times and with batches cut
// differently, ends in the same rows and rejected_events as a run without crashes.

const TOPIC = 'user_activity';

function toRecords(values: readonly string[]): KafkaRecord[] {
  return values.map((value, offset) => ({
    topic: TOPIC,
    partition: 0,
    offset,
    timestamp: 1_700_000_000_000 + offset,
    timestampType: 'CREATE_TIME',
    key: null,
    value: Buffer.from(value),
    headers: [],
  }));
}

function deps(engine: EngineConfig, store: MemoryStore, sink: MemorySink): PipelineDeps {
  return {
    store,
    sink,
    now: () => 1_700_000_000_000,
    settings: {
      engine,
      eventTimeSource: 'payload',
      idleFlush: false,
      idleTimeoutMs: 10_000,
      sweepLeaseMs: 60_000,
    },
  };
}

/** Plays the records through like the event source mapping: acknowledged offset, batches, retries. */
async function play(
  engine: EngineConfig,
  records: readonly KafkaRecord[],
  batchSizes: readonly number[],
  crashes: readonly (Step | 'return' | null)[],
  userCrashAfter: number,
) {
  const store = new MemoryStore();
  const sink = new MemorySink();
  const d = deps(engine, store, sink);
  let acknowledged = 0;
  let invocation = 0;
  while (acknowledged < records.length) {
    const size = batchSizes[invocation % batchSizes.length] ?? 1;
    const batch = records.slice(acknowledged, acknowledged + size);
    const crashAt = crashes[invocation] ?? null;
    invocation++;
    let usersWritten = 0;
    store.afterStep = (step) => {
      if (step === 'user') usersWritten++;
      if (crashAt === step && (step !== 'user' || usersWritten > userCrashAfter)) throw new Crash(step);
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
      // Not acknowledged: the same offsets are delivered again, maybe cut differently.
    }
    if (invocation > 10_000) throw new Error('no progress');
  }
  return {
    rows: Object.fromEntries([...sink.rows].sort()),
    rejected: Object.fromEntries([...sink.rejected].sort()),
  };
}

const valueArb = fc.oneof(
  { weight: 12, arbitrary: fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 40 })) },
  { weight: 1, arbitrary: fc.constant(null) },
);

const streamArb = fc.array(valueArb, { minLength: 1, maxLength: 60 }).map((steps) => {
  // Event times walk forward in steps around the gap, with some disorder.
  let t = 0;
  return steps.map((step) => {
    if (step === null) return 'not a record';
    const [user, jump] = step;
    t += (jump - 10) * 250; // -2500 .. +7500 ms: around G = 5000, sometimes backwards
    if (t < 0) t = 0;
    return `user_${user},${t}`;
  });
});

const engineArb = fc.record({
  gapMs: fc.constant(5000),
  outOfOrdernessMs: fc.constantFrom(0, 1000, 3000),
  allowedLatenessMs: fc.constantFrom(0, 2000),
});

const crashArb = fc.array(
  fc.constantFrom<Step | 'return' | null>('claim', 'sink', 'user', 'commit', 'return', null, null),
  {
    maxLength: 30,
  },
);

describe('crash and re-delivery (property)', () => {
  it('ends in the same rows and rejections as a run without crashes', async () => {
    await fc.assert(
      fc.asyncProperty(
        engineArb,
        streamArb,
        fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 5 }),
        crashArb,
        fc.integer({ min: 0, max: 3 }),
        async (engine, values, cuts, crashes, userCrashAfter) => {
          // Prepare
          const records = toRecords(values);

          // Act
          const clean = await play(engine, records, [records.length], [], 0);
          const crashed = await play(engine, records, cuts, crashes, userCrashAfter);

          // Assess
          expect(crashed).toEqual(clean);
        },
      ),
      { numRuns: 300 },
    );
  });
});
