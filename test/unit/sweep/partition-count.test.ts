import { afterEach, describe, expect, it, vi } from 'vitest';
import { PARTITIONS_CONTROL_VALUE, PARTITIONS_HEADER } from '../../../lib/checkpoint/index.ts';
import { TICK_HEADER } from '../../../lib/decode/index.ts';
import { createWarmState, handleKafkaEvent, type PipelineDeps } from '../../../lib/pipeline/index.ts';
import { type SweepDeps, sweepTopic } from '../../../lib/sweep/index.ts';
import { captureLogLines } from '../../helpers/log-lines.ts';
import { MemorySink, MemoryStore } from '../../helpers/memory-store.ts';
import { Clock, DEFAULT_ENGINE, mskEvent, RecordingTicker, record } from '../../helpers/pipeline.ts';

// docs/DEPLOY.md, "Adding partitions": the checkpoint records the topic's partition count its state
// was built with (the sweep asks the brokers and appends it to partition 0; the job records it in
// `meta`); a later change is told, with what it does to open sessions, until the job records it.

const TOPIC = 'user_activity';

/** The `partitions` control record the sweep appends, at `offset` of partition 0. */
const partitionsRecord = (count: number, offset: number) => ({
  ...record(null, offset, 0, TOPIC),
  headers: [
    { key: TICK_HEADER, value: Buffer.from(PARTITIONS_CONTROL_VALUE) },
    { key: PARTITIONS_HEADER, value: Buffer.from(String(count)) },
  ],
});

function world() {
  const store = new MemoryStore();
  const clock = new Clock();
  const ticker = new RecordingTicker(2);
  const job: PipelineDeps = {
    store,
    sink: new MemorySink(),
    now: clock.now,
    settings: { engine: DEFAULT_ENGINE, eventTimeSource: 'payload', stateTtlDays: 2, journalMax: 32 },
    warm: createWarmState(),
  };
  const sweep: SweepDeps = {
    store,
    ticker,
    now: clock.now,
    settings: { idleTimeoutMs: null, stateTtlDays: 2 },
    state: { partitionCountSent: new Map() },
  };
  return { store, ticker, job, sweep };
}

afterEach(() => vi.restoreAllMocks());

describe("the topic's partition count", () => {
  it('is sent by the sweep once the table is in use, recorded by the job, and then left alone', async () => {
    // Prepare: the job took the table into use (partition 0 read offsets 0-1).
    const { store, ticker, job, sweep } = world();
    await handleKafkaEvent(job, mskEvent(['user_A,1000', 'user_B,1000']));
    ticker.ends.set(0, 2);

    // Act
    const first = await sweepTopic(sweep, TOPIC);
    const again = await sweepTopic(sweep, TOPIC); // the control record is not read yet
    await handleKafkaEvent(job, mskEvent([partitionsRecord(2, 2)]));
    const recorded = await sweepTopic(sweep, TOPIC);

    // Assess
    expect([first.partitionCount, again.partitionCount, recorded.partitionCount]).toEqual([
      { from: undefined, to: 2 },
      { from: undefined, to: 2 },
      null,
    ]);
    expect(ticker.partitionCounts).toEqual([2]);
    expect(store.meta?.partitions).toBe(2);
  });

  it('is told when partitions are added: by the sweep, and by the job once, with what it does to open sessions', async () => {
    // Prepare
    const { store, ticker, job, sweep } = world();
    await handleKafkaEvent(job, mskEvent(['user_A,1000']));
    ticker.ends.set(0, 1);
    await sweepTopic(sweep, TOPIC);
    await handleKafkaEvent(job, mskEvent([partitionsRecord(2, 1)], 1));
    ticker.partitionCount = 4;
    const lines = captureLogLines();

    // Act
    const detected = await sweepTopic(sweep, TOPIC);
    await handleKafkaEvent(job, mskEvent([partitionsRecord(4, 2)], 2));
    const after = await sweepTopic(sweep, TOPIC);

    // Assess
    expect(detected.partitionCount).toEqual({ from: 2, to: 4 });
    expect(after.partitionCount).toBeNull();
    expect(ticker.partitionCounts).toEqual([2, 4]);
    expect(store.meta?.partitions).toBe(4);
    const warnings = lines.filter((l) => l.level === 'WARN');
    expect(warnings.map((w) => [w.from, w.to])).toEqual([
      [2, 4],
      [2, 4],
    ]);
    expect(String(warnings[0]?.message)).toMatch(/a session open across the change is cut in two rows/);
    expect(String(warnings[1]?.message)).toMatch(/one session of Flink's is two rows/);
  });

  it('is not sent while the table is not in use, and a control record folds nothing', async () => {
    // Prepare
    const { store, ticker, job, sweep } = world();

    // Act
    const idle = await sweepTopic(sweep, TOPIC);
    const [outcome] = await handleKafkaEvent(job, mskEvent([partitionsRecord(2, 0), 'user_A,1000']));

    // Assess: the job's first use records the generation, the control record is a tick to the fold.
    expect(idle.partitionCount).toBeNull();
    expect(ticker.partitionCounts).toEqual([]);
    expect(outcome).toMatchObject({ records: 2, ticks: 1, liveSessions: 1, emitted: 0 });
    expect(store.meta?.partitions).toBe(2);
  });
});
