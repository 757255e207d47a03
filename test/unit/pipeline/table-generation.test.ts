import { describe, expect, it } from 'vitest';
import { decodeMeta, type RecordedSettings, type TableMeta } from '../../../lib/checkpoint/index.ts';
import { CheckpointLostError, SettingsChangedError } from '../../../lib/errors.ts';
import {
  createWarmState,
  handleKafkaEvent,
  newGeneration,
  type PipelineDeps,
  recordedSettings,
} from '../../../lib/pipeline/index.ts';
import { buildKafkaEvent } from '../../../offline/build-event.ts';
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

/** The settings deps() runs with, as the checkpoint records them. */
const OURS: RecordedSettings = {
  gapMs: 5000,
  outOfOrdernessMs: 0,
  allowedLatenessMs: 0,
  eventTimeSource: 'payload',
  maxFutureMs: null,
  userIdField: 'userId',
  eventTimeField: 'timestamp',
  eventTimeUnit: 'ms',
};

/** A `meta` item as release 0.1.0 wrote it: no settings. */
const META_0_1_0: TableMeta = {
  layout: 2,
  generation: '2026-11-01T00:00:00.000Z/0a1b2c3d',
  createdAt: Date.parse('2026-11-01T00:00:00.000Z'),
  origin: 'first-use',
};

describe('the settings recorded with the checkpoint', () => {
  it('are recorded at the first use of the table', async () => {
    // Prepare
    const store = new MemoryStore();
    const sink = new MemorySink();

    // Act
    await handleKafkaEvent(deps(store, sink), mskEvent(['user_A,1000']));

    // Assess
    expect(store.meta?.settings).toEqual(OURS);
    expect(recordedSettings(deps(store, sink).settings)).toEqual(OURS);
  });

  it('are ours in a table of release 0.1.0, which has none, and the job goes on under its generation', async () => {
    // Prepare
    const store = new MemoryStore();
    const sink = new MemorySink();
    store.meta = META_0_1_0;

    // Act
    const outcomes = await handleKafkaEvent(deps(store, sink), mskEvent(['user_A,1000']));

    // Assess
    expect(outcomes).toMatchObject([{ records: 1, commits: 1 }]);
    expect(store.meta).toEqual({ ...META_0_1_0, settings: OURS });
    expect([...sink.fences.values()].map((f) => f.generation)).toEqual([META_0_1_0.generation]);
  });

  it('refuse a job whose settings differ, naming every differing setting with both values', async () => {
    // Prepare: every recorded setting differs from the job's.
    const store = new MemoryStore();
    const sink = new MemorySink();
    store.meta = {
      ...META_0_1_0,
      settings: {
        gapMs: 10_000,
        outOfOrdernessMs: 2000,
        allowedLatenessMs: 3000,
        eventTimeSource: 'kafka',
        maxFutureMs: 60_000,
        userIdField: 'user.id',
        eventTimeField: 'event_time',
        eventTimeUnit: 's',
      },
    };

    // Act
    const next = handleKafkaEvent(deps(store, sink), mskEvent(['user_A,1000']));

    // Assess
    await expect(next).rejects.toBeInstanceOf(SettingsChangedError);
    const message = ((await next.catch((error: unknown) => error)) as Error).message;
    for (const difference of [
      'SESSION_GAP_MS is 5000 here, 10000 in the checkpoint',
      'OUT_OF_ORDERNESS_MS is 0 here, 2000 in the checkpoint',
      'ALLOWED_LATENESS_MS is 0 here, 3000 in the checkpoint',
      'EVENT_TIME_SOURCE is payload here, kafka in the checkpoint',
      'MAX_FUTURE_MS is unset here, 60000 in the checkpoint',
      'USER_ID_FIELD is userId here, user.id in the checkpoint',
      'EVENT_TIME_FIELD is timestamp here, event_time in the checkpoint',
      'EVENT_TIME_UNIT is ms here, s in the checkpoint',
    ]) {
      expect(message).toContain(difference);
    }
    expect(message).toContain(META_0_1_0.generation);
  });

  it('name only the settings that differ', async () => {
    // Prepare
    const store = new MemoryStore();
    const sink = new MemorySink();
    store.meta = { ...META_0_1_0, settings: { ...OURS, allowedLatenessMs: 1000 } };

    // Act
    const error = (await handleKafkaEvent(deps(store, sink), mskEvent(['user_A,1000'])).catch(
      (e: unknown) => e,
    )) as Error;

    // Assess
    expect(error).toBeInstanceOf(SettingsChangedError);
    expect(error.message).toContain('ALLOWED_LATENESS_MS is 0 here, 1000 in the checkpoint');
    for (const name of [
      'SESSION_GAP_MS',
      'OUT_OF_ORDERNESS_MS',
      'EVENT_TIME_SOURCE',
      'MAX_FUTURE_MS',
      'USER_ID_FIELD',
      'EVENT_TIME_FIELD',
      'EVENT_TIME_UNIT',
    ]) {
      expect(error.message).not.toContain(name);
    }
  });

  it('refused: not retried, nothing claimed, committed or written to the sink, the settings kept', async () => {
    // Prepare
    const store = new MemoryStore();
    const sink = new MemorySink();
    const theirs: RecordedSettings = { ...OURS, gapMs: 10_000 };
    store.meta = { ...META_0_1_0, settings: theirs };
    let metaReads = 0;
    const readMeta = store.readMeta.bind(store);
    store.readMeta = async () => {
      metaReads++;
      return readMeta();
    };
    const d = deps(store, sink);

    // Act
    const error = (await handleKafkaEvent(
      d,
      buildKafkaEvent({
        eventSource: 'SelfManagedKafka',
        bootstrapServers: ['127.0.0.1:9092'],
        records: [record('user_A,1000', 0, 0), record('garbage', 1, 0), record('user_B,1000', 0, 1)],
      }),
    ).catch((e: unknown) => e)) as SettingsChangedError;

    // Assess
    expect(error).toBeInstanceOf(SettingsChangedError);
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/^\[SETTINGS_CHANGED, not retryable\] /);
    expect(metaReads).toBe(1); // one resolution for both partitions, no second attempt
    expect(store.partitions.size).toBe(0);
    expect(store.pieces.size).toBe(0);
    expect(sink.fences.size).toBe(0);
    expect(sink.rows.size).toBe(0);
    expect(sink.sessions.size).toBe(0);
    expect(sink.rejected.size).toBe(0);
    expect(store.meta?.settings).toEqual(theirs);
    expect(d.warm.generation).toBeUndefined();
  });
});

describe('settings recorded before the field mapping was a setting', () => {
  // A meta item as this release's predecessor wrote it: five settings, no mapping. That job read
  // {"userId", "timestamp"} in epoch milliseconds, which is what the defaults still are.
  const before = decodeMeta({
    pk: 'meta',
    layout: 2,
    generation: '2026-11-20T00:00:00.000Z/0a1b2c3d',
    createdAt: Date.parse('2026-11-20T00:00:00.000Z'),
    origin: 'first-use',
    settings: {
      gapMs: 5000,
      outOfOrdernessMs: 0,
      allowedLatenessMs: 0,
      eventTimeSource: 'payload',
      maxFutureMs: null,
    },
  });

  it('are read as the default mapping: a job with the defaults folds on', async () => {
    // Prepare
    const store = new MemoryStore();
    const sink = new MemorySink();
    store.meta = before;

    // Act
    const outcomes = await handleKafkaEvent(deps(store, sink), mskEvent(['user_A,1000']));

    // Assess
    expect(before.settings).toEqual(OURS);
    expect(outcomes).toMatchObject([{ records: 1, commits: 1 }]);
  });

  it('refuse a job that maps the fields elsewhere, naming the setting', async () => {
    // Prepare
    const store = new MemoryStore();
    const sink = new MemorySink();
    store.meta = before;
    const d = deps(store, sink);
    const mapped: PipelineDeps = {
      ...d,
      settings: {
        ...d.settings,
        fields: { userIdField: 'user.id', eventTimeField: 'timestamp', eventTimeUnit: 'ms' },
      },
    };

    // Act
    const error = (await handleKafkaEvent(mapped, mskEvent(['user_A,1000'])).catch(
      (e: unknown) => e,
    )) as Error;

    // Assess
    expect(error).toBeInstanceOf(SettingsChangedError);
    expect(error.message).toContain('USER_ID_FIELD is user.id here, userId in the checkpoint');
    expect(error.message).not.toContain('EVENT_TIME_FIELD');
    expect(sink.rows.size).toBe(0);
  });
});
