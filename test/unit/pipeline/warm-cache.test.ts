import { afterEach, describe, expect, it, vi } from 'vitest';
import { PartitionTooLargeError } from '../../../lib/errors.ts';
import {
  createWarmState,
  handleKafkaEvent,
  type PartitionOutcome,
  type PipelineDeps,
  type PipelineSettings,
  RESERVE_BYTES,
} from '../../../lib/pipeline/index.ts';
import { captureLogLines } from '../../helpers/log-lines.ts';
import { MemorySink, MemoryStore } from '../../helpers/memory-store.ts';
import { DEFAULT_ENGINE, mskEvent } from '../../helpers/pipeline.ts';

// docs/DEPLOY.md, "Sizing": the warm cache keeps the engines of the partitions a container served
// within WARM_CACHE_MB, forgetting the least recently committed first; a partition that cannot fit
// the container's memory is refused before it is read, loudly, and nothing is written.

const GB = 2 ** 30;

function deps(store: MemoryStore, sink: MemorySink, memory?: PipelineSettings['memory']): PipelineDeps {
  return {
    store,
    sink,
    now: () => 1_700_000_000_000,
    settings: { engine: DEFAULT_ENGINE, eventTimeSource: 'payload', stateTtlDays: 2, journalMax: 32, memory },
    warm: createWarmState(),
  };
}

/** `users` users of partition p, one event each at `t`, from offset `offset`. */
const batch = (p: number, users: number, offset: number, t = 1000) =>
  mskEvent(
    Array.from({ length: users }, (_, u) => `user_${p}_${u},${t + (u % 1000)}`),
    offset,
    p,
  );

async function one(d: PipelineDeps, event: ReturnType<typeof mskEvent>): Promise<PartitionOutcome> {
  const [outcome] = await handleKafkaEvent(d, event);
  if (outcome === undefined) throw new Error('no outcome');
  return outcome;
}

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
  vi.resetModules();
});

describe('the warm cache', () => {
  it('forgets the least recently committed partitions past WARM_CACHE_MB, and reads one back when it comes again', async () => {
    // Prepare: learn what one small partition takes, then allow two and a half of them.
    const probe = await one(deps(new MemoryStore(), new MemorySink()), batch(9, 100, 0));
    const store = new MemoryStore();
    const sink = new MemorySink();
    const bounded = deps(store, sink, { limitBytes: GB, warmCacheBytes: Math.floor(2.5 * probe.stateBytes) });
    const unbounded = deps(new MemoryStore(), new MemorySink());
    const events = [
      batch(0, 100, 0),
      batch(1, 100, 0),
      batch(2, 100, 0),
      batch(0, 100, 100, 9000), // partition 0 comes back
      batch(2, 100, 100, 9000),
    ];

    // Act
    const outcomes: PartitionOutcome[] = [];
    for (const event of events) {
      outcomes.push(await one(bounded, event));
      await one(unbounded, event);
    }

    // Assess
    expect(outcomes.map((o) => [o.partition, o.state, o.evicted, o.warmPartitions])).toEqual([
      [0, 'cold', [], 1],
      [1, 'cold', [], 2],
      [2, 'cold', ['user_activity-0'], 2],
      [0, 'cold', ['user_activity-1'], 2],
      [2, 'warm', [], 2],
    ]);
    expect([...bounded.warm.partitions.keys()]).toEqual(['user_activity-0', 'user_activity-2']);
    expect(outcomes.every((o) => o.warmBytes <= 2.5 * probe.stateBytes)).toBe(true);
    // Forgetting costs a read, never a row.
    expect(sink.rows).toEqual((unbounded.sink as MemorySink).rows);
    expect(sink.rows.size).toBeGreaterThan(0);
  });

  it('keeps a partition that alone exceeds WARM_CACHE_MB (it fits the container), and only it', async () => {
    // Prepare
    const d = deps(new MemoryStore(), new MemorySink(), { limitBytes: GB, warmCacheBytes: 1 });

    // Act
    await one(d, batch(0, 10, 0));
    const second = await one(d, batch(1, 10, 0));
    const again = await one(d, batch(1, 10, 10, 9000));

    // Assess
    expect([second.evicted, again.state]).toEqual([['user_activity-0'], 'warm']);
    expect([...d.warm.partitions.keys()]).toEqual(['user_activity-1']);
  });

  it('refuses, before it reads or writes anything, a partition whose state cannot fit the container', async () => {
    // Prepare: a partition of 20,000 live users, committed by a container with memory to spare.
    const store = new MemoryStore();
    const sink = new MemorySink();
    await one(deps(store, sink), batch(0, 20_000, 0));
    const before = await store.readPartition('user_activity', 0);
    const small = deps(store, sink, { limitBytes: RESERVE_BYTES + 2 ** 20, warmCacheBytes: 2 ** 19 });
    const readImages = vi.spyOn(store, 'readImages');

    // Act
    const refused = handleKafkaEvent(small, batch(0, 1, 20_000, 2000));

    // Assess
    const error = await refused.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PartitionTooLargeError);
    expect((error as Error).message).toMatch(
      /Partition user_activity-0 holds 20000 live users \(20000 sessions\): loading it needs about \d+ MB, more than this container's 193 MB/,
    );
    expect((error as Error).message).toMatch(/\[PARTITION_TOO_LARGE, not retryable\]/);
    expect(readImages).not.toHaveBeenCalled();
    expect(await store.readPartition('user_activity', 0)).toEqual(before);
  });

  it('says so in one critical log line with the partition, its live users and the memory needed, and a metric', async () => {
    // Prepare: the job's metrics on, its log lines captured (Powertools writes errors to stderr).
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
    vi.stubEnv('LOG_LEVEL', 'warn');
    vi.resetModules();
    const lines = captureLogLines();
    const pipeline = await import('../../../lib/pipeline/index.ts');
    const metrics = await import('../../../lib/metrics.ts');
    const store = new MemoryStore();
    const sink = new MemorySink();
    await pipeline.handleKafkaEvent(deps(store, sink), batch(0, 5_000, 0));
    const small = deps(store, sink, { limitBytes: RESERVE_BYTES, warmCacheBytes: 2 ** 19 });

    // Act
    await pipeline.handleKafkaEvent(small, batch(0, 1, 5_000, 2000)).catch(() => undefined);
    metrics.publishMetrics();

    // Assess
    const critical = lines.filter((l) => l.level === 'CRITICAL');
    expect(critical).toHaveLength(1);
    expect(critical[0]).toMatchObject({
      topicPartition: 'user_activity-0',
      liveUsers: 5_000,
      liveSessions: 5_000,
      neededMb: expect.any(Number),
      memoryMb: 192,
      errorCode: 'PARTITION_TOO_LARGE',
    });
    const emf = lines.find((l) => '_aws' in l && 'PartitionMemoryExceeded' in l);
    expect(emf?.PartitionMemoryExceeded).toBe(1);
  });
});
