import { describe, expect, it } from 'vitest';
import { advanceTo, idleWatermark } from '../../../lib/engine/index.ts';
import {
  emittedOf,
  engineConfig,
  eventRecords,
  PartitionRun,
  partitionState,
  session,
  userState,
} from './factories.ts';

// DESIGN.md section 4, idle flush: after IDLE_TIMEOUT of silence the watermark moves with the clock.

const IDLE_TIMEOUT_MS = 30_000;

describe('idleWatermark', () => {
  describe.each([
    { what: 'no arrival yet', lastArrivalMs: null, recordWatermark: 999 },
    { what: 'no record watermark yet', lastArrivalMs: 1000, recordWatermark: null },
  ])('with $what', ({ lastArrivalMs, recordWatermark }) => {
    it('has nothing to advance', () => {
      // Prepare
      const partition = partitionState({ lastArrivalMs, recordWatermark, watermark: recordWatermark });

      // Act
      const target = idleWatermark(partition, 10_000_000, IDLE_TIMEOUT_MS);

      // Assess
      expect(target).toBeNull();
    });
  });

  it.each([
    { silentMs: IDLE_TIMEOUT_MS - 1, expected: null },
    { silentMs: IDLE_TIMEOUT_MS, expected: 5000 + IDLE_TIMEOUT_MS },
    { silentMs: 90_000, expected: 95_000 },
  ])('after $silentMs ms of silence targets $expected', ({ silentMs, expected }) => {
    // Prepare
    const partition = partitionState({ lastArrivalMs: 1_000_000, recordWatermark: 5000, watermark: 5000 });

    // Act
    const target = idleWatermark(partition, 1_000_000 + silentMs, IDLE_TIMEOUT_MS);

    // Assess
    expect(target).toBe(expected);
  });

  it('returns null when the target is not ahead of the current watermark', () => {
    // Prepare: a previous sweep already advanced W to 5000 + 60000.
    const partition = partitionState({ lastArrivalMs: 1_000_000, recordWatermark: 5000, watermark: 65_000 });

    // Act
    const same = idleWatermark(partition, 1_060_000, IDLE_TIMEOUT_MS);
    const later = idleWatermark(partition, 1_070_000, IDLE_TIMEOUT_MS);

    // Assess
    expect(same).toBeNull();
    expect(later).toBe(75_000);
  });
});

describe('advanceTo', () => {
  it('fires what is due at the new watermark and changes only the watermark', () => {
    // Prepare
    const run = new PartitionRun(engineConfig());
    run.fold(
      eventRecords([
        ['user_A', 1000],
        ['user_A', 2000],
        ['user_B', 4000],
      ]),
      500,
    );
    const before = run.partition;

    // Act
    const result = run.advanceTo(7000);

    // Assess
    expect(emittedOf(result)).toEqual([['user_A', 1000, 7000, 2]]);
    expect(result.partition).toEqual({ ...before, watermark: 7000 });
    expect(result.users.get('user_A')?.sessions).toEqual([]);
    expect(result.users.has('user_B')).toBe(false);
  });

  it('never moves the watermark backwards', () => {
    // Prepare
    const run = new PartitionRun(engineConfig());
    run.fold(
      eventRecords([
        ['user_A', 1000],
        ['user_B', 5000],
      ]),
    );

    // Act
    const result = run.advanceTo(10);

    // Assess
    expect(result.partition.watermark).toBe(4999);
    expect(result.emitted).toEqual([]);
    expect(result.users.size).toBe(0);
  });

  it('does not double-advance when the sweep runs again over the same silence', () => {
    // Prepare: last records at wall clock 1_000_000 put W at 1999.
    const run = new PartitionRun(engineConfig());
    run.fold(
      eventRecords([
        ['user_A', 1000],
        ['user_A', 2000],
      ]),
      1_000_000,
    );
    const sweep = (nowMs: number) => {
      const target = idleWatermark(run.partition, nowMs, IDLE_TIMEOUT_MS);
      return target === null ? null : run.advanceTo(target);
    };

    // Act
    const first = sweep(1_000_000 + IDLE_TIMEOUT_MS);
    const again = sweep(1_000_000 + IDLE_TIMEOUT_MS);
    const later = sweep(1_000_000 + IDLE_TIMEOUT_MS + 5);

    // Assess
    expect(first?.partition.watermark).toBe(1999 + IDLE_TIMEOUT_MS);
    expect(first === null ? null : emittedOf(first)).toEqual([['user_A', 1000, 7000, 2]]);
    expect(again).toBeNull();
    expect(later?.partition.watermark).toBe(1999 + IDLE_TIMEOUT_MS + 5);
    expect(later?.emitted).toEqual([]);
  });

  it('lets records after an idle advance be judged against the advanced watermark', () => {
    // Prepare
    const run = new PartitionRun(engineConfig());
    run.fold(eventRecords([['user_A', 1000]]), 0);
    run.advanceTo(50_000);

    // Act
    const result = run.fold(
      eventRecords(
        [
          ['user_A', 40_000],
          ['user_A', 60_000],
        ],
        1,
      ),
      60_000,
    );

    // Assess
    expect(result.late.map((e) => [e.offset, e.watermark])).toEqual([[1, 50_000]]);
    expect(result.partition.watermark).toBe(59_999);
    expect(result.partition.recordWatermark).toBe(59_999);
  });

  it('catches up sessions that were due before the advance', () => {
    // Prepare
    const users = new Map([['user_A', userState('user_A', [session({ start: 1000, end: 6000, count: 3 })])]]);

    // Act
    const result = advanceTo({
      config: engineConfig(),
      partition: partitionState({ watermark: 8000, recordWatermark: 8000, lastArrivalMs: 0 }),
      users,
      watermark: 8000,
    });

    // Assess
    expect(emittedOf(result)).toEqual([['user_A', 1000, 6000, 3]]);
    expect(result.partition.watermark).toBe(8000);
  });
});
