import { describe, expect, it } from 'vitest';
import { CheckpointLostError } from '../../../lib/errors.ts';
import { buildKafkaEvent } from '../../../lib/kafka/index.ts';
import { newGeneration } from '../../../lib/pipeline/generation.ts';
import { createWarmState, handleKafkaEvent, type PipelineDeps } from '../../../lib/pipeline/index.ts';
import { MemorySink, MemoryStore } from '../../helpers/memory-store.ts';
import { DEFAULT_ENGINE, mskEvent, record } from '../../helpers/pipeline.ts';

// docs/STATE.md section 5: the table's generation is taken into use once, however many partitions
// and containers start at the same time, and a table that lost it while PostgreSQL has fences is
// refused.

function deps(store: MemoryStore, sink: MemorySink): PipelineDeps {
  return {
    store,
    sink,
    now: () => 1_700_000_000_000,
    settings: { engine: DEFAULT_ENGINE, eventTimeSource: 'payload', stateTtlDays: 2, journalMax: 32 },
    warm: createWarmState(),
  };
}

/** One event with a record in each of three partitions. */
const threePartitions = buildKafkaEvent({
  eventSource: 'SelfManagedKafka',
  bootstrapServers: ['127.0.0.1:9092'],
  records: [0, 1, 2].map((p) => record(`user_${p},1000`, 0, p)),
});

describe('the checkpoint table generation', () => {
  it('is created once when the partitions of one event all start on an empty table', async () => {
    // Prepare
    const store = new MemoryStore();
    const sink = new MemorySink();

    // Act
    const outcomes = await handleKafkaEvent(deps(store, sink), threePartitions);

    // Assess
    expect(outcomes).toHaveLength(3);
    expect(store.meta?.origin).toBe('first-use');
    expect(new Set([...sink.fences.values()].map((f) => f.generation))).toEqual(
      new Set([store.meta?.generation]),
    );
  });

  it('is found by a container that looked before another one took the table into use', async () => {
    // Prepare: container B reads no meta item; container A then takes the table and writes fences.
    const store = new MemoryStore();
    const sink = new MemorySink();
    const b = deps(store, sink);
    const realReadMeta = store.readMeta.bind(store);
    let stale = true;
    store.readMeta = async () => {
      if (stale) {
        stale = false;
        await handleKafkaEvent(deps(store, sink), mskEvent(['user_A,1000'], 0, 1));
        return null;
      }
      return realReadMeta();
    };

    // Act
    const outcomes = await handleKafkaEvent(b, mskEvent(['user_B,1000']));

    // Assess
    expect(outcomes).toMatchObject([{ records: 1, commits: 1 }]);
    expect(b.warm.generation).toBe(store.meta?.generation);
  });

  it('refuses a table without its meta item while PostgreSQL holds fences of the topic', async () => {
    // Prepare
    const store = new MemoryStore();
    const sink = new MemorySink();
    await handleKafkaEvent(deps(store, sink), mskEvent(['user_A,1000']));
    store.meta = null;
    store.partitions.clear();

    // Act
    const next = handleKafkaEvent(deps(store, sink), mskEvent(['user_A,2000'], 1));

    // Assess
    await expect(next).rejects.toBeInstanceOf(CheckpointLostError);
    await expect(next).rejects.toThrow(/\[CHECKPOINT_LOST, not retryable\]/);
  });
});

describe('newGeneration', () => {
  it('sorts after the generation it replaces, even from a machine whose clock is behind', () => {
    // Prepare
    const current = '2026-11-27T20:00:00.000Z/aaaaaaaa';

    // Act
    const behind = newGeneration(Date.parse('2026-11-27T19:00:00.000Z'), current);
    const ahead = newGeneration(Date.parse('2026-11-28T00:00:00.000Z'), current);

    // Assess
    expect(behind > current).toBe(true);
    expect(behind.startsWith('2026-11-27T20:00:00.001Z/')).toBe(true);
    expect(ahead.startsWith('2026-11-28T00:00:00.000Z/')).toBe(true);
  });
});

describe('a warm container after lost state', () => {
  it('reads the generation again, so an operator’s new generation is seen by the next invocation', async () => {
    // Prepare: the table loses its partition item; the container refuses, then the operator acts.
    const store = new MemoryStore();
    const sink = new MemorySink();
    const d = deps(store, sink);
    await handleKafkaEvent(d, mskEvent(['user_A,1000']));
    store.lose('user_activity', 0);
    await expect(handleKafkaEvent(d, mskEvent(['user_A,2000'], 1))).rejects.toBeInstanceOf(
      CheckpointLostError,
    );
    store.meta = {
      ...(store.meta as NonNullable<typeof store.meta>),
      generation: newGeneration(Date.now(), store.meta?.generation),
    };

    // Act
    const outcomes = await handleKafkaEvent(d, mskEvent(['user_A,2000'], 1));

    // Assess
    expect(outcomes).toMatchObject([{ records: 1, commits: 1 }]);
    expect(d.warm.generation).toBe(store.meta.generation);
  });
});
