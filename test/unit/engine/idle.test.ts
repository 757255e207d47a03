import { describe, expect, it } from 'vitest';
import { idleTarget } from '../../../lib/engine/index.ts';
import { emittedOf, engineConfig, eventRecords, PartitionRun, tick } from './factories.ts';

// DESIGN.md section 4, idle flush through the log: a tick whose Kafka timestamp is at least
// IDLE_TIMEOUT after the latest event's advances W by the silence between the two timestamps.

const IDLE_TIMEOUT_MS = 30_000;

describe('idleTarget', () => {
  it.each([
    { what: 'no event yet', recordW: Number.NEGATIVE_INFINITY, lastLogTime: 1000 },
    { what: 'no Kafka timestamp yet', recordW: 999, lastLogTime: Number.NEGATIVE_INFINITY },
  ])('has nothing to advance with $what', ({ recordW, lastLogTime }) => {
    // Act
    const target = idleTarget(recordW, lastLogTime, 10_000_000, IDLE_TIMEOUT_MS);

    // Assess
    expect(target).toBe(Number.NEGATIVE_INFINITY);
  });

  it.each([
    { silentMs: IDLE_TIMEOUT_MS - 1, expected: Number.NEGATIVE_INFINITY },
    { silentMs: IDLE_TIMEOUT_MS, expected: 5000 + IDLE_TIMEOUT_MS },
    { silentMs: 90_000, expected: 95_000 },
    { silentMs: -5000, expected: Number.NEGATIVE_INFINITY },
  ])('after $silentMs ms of silence in the log targets $expected', ({ silentMs, expected }) => {
    // Act
    const target = idleTarget(5000, 1_000_000, 1_000_000 + silentMs, IDLE_TIMEOUT_MS);

    // Assess
    expect(target).toBe(expected);
  });
});

describe('idle ticks in the fold', () => {
  const config = engineConfig({ idleTimeoutMs: IDLE_TIMEOUT_MS });
  // Events whose Kafka timestamps are 1_000_000 and 1_000_500: the log's clock, not event time.
  const seed = eventRecords([
    ['user_A', 1000, 1_000_000],
    ['user_A', 2000, 1_000_500],
    ['user_B', 4000, 1_000_500],
  ]);

  it('fires what is due when a tick comes IDLE_TIMEOUT after the latest event', () => {
    // Prepare
    const run = new PartitionRun(config);
    run.fold(seed);

    // Act
    const early = run.fold([tick(3, 1_000_500 + IDLE_TIMEOUT_MS - 1)]);
    const late = run.fold([tick(4, 1_000_500 + IDLE_TIMEOUT_MS)]);

    // Assess: W = 3999 + 30000 fires both users.
    expect(early.emitted).toEqual([]);
    expect(early.partition.watermark).toBe(3999);
    expect(emittedOf(late)).toEqual([
      ['user_A', 1000, 7000, 2],
      ['user_B', 4000, 9000, 1],
    ]);
    expect(late.partition.watermark).toBe(3999 + IDLE_TIMEOUT_MS);
    expect(late.partition.recordWatermark).toBe(3999);
    expect(late.partition.nextOffset).toBe(5);
  });

  it('does not advance twice over the same silence', () => {
    // Prepare
    const run = new PartitionRun(config);
    run.fold(seed);
    run.fold([tick(3, 1_000_500 + IDLE_TIMEOUT_MS)]);

    // Act: a second tick at the same time changes nothing; a later one advances by the longer silence.
    const again = run.fold([tick(4, 1_000_500 + IDLE_TIMEOUT_MS)]);
    const later = run.fold([tick(5, 1_000_500 + IDLE_TIMEOUT_MS + 5)]);

    // Assess
    expect(again.partition.watermark).toBe(3999 + IDLE_TIMEOUT_MS);
    expect(later.partition.watermark).toBe(3999 + IDLE_TIMEOUT_MS + 5);
  });

  it('ignores ticks when the idle flush is off (strict Flink), but still moves past them', () => {
    // Prepare
    const run = new PartitionRun(engineConfig({ idleTimeoutMs: null }));
    run.fold(seed);

    // Act
    const result = run.fold([tick(3, 9_999_999_999)]);

    // Assess
    expect(result.emitted).toEqual([]);
    expect(result.partition.watermark).toBe(3999);
    expect(result.partition.nextOffset).toBe(4);
  });

  it('measures silence in the log: records produced meanwhile make a late tick a no-op', () => {
    // Prepare: the job reads the tick long after it was written (lag), but in the log it follows
    // records that came 1 s before it.
    const run = new PartitionRun(config);
    run.fold(seed);

    // Act
    const result = run.fold([
      ...eventRecords([['user_C', 5000, 1_000_500 + IDLE_TIMEOUT_MS - 1000]], 3),
      tick(4, 1_000_500 + IDLE_TIMEOUT_MS),
    ]);

    // Assess
    expect(result.emitted).toEqual([]);
    expect(result.partition.watermark).toBe(4999);
    expect(result.partition.lastLogTime).toBe(1_000_500 + IDLE_TIMEOUT_MS - 1000);
  });

  it('judges records after an idle advance against the advanced watermark, and says so', () => {
    // Prepare
    const run = new PartitionRun(config);
    run.fold(eventRecords([['user_A', 1000, 1_000_000]]));
    run.fold([tick(1, 1_000_000 + 49_000)]);

    // Act
    const result = run.fold(
      eventRecords(
        [
          ['user_A', 40_000, 1_049_500],
          ['user_A', 60_000, 1_049_600],
        ],
        2,
      ),
    );

    // Assess
    expect(result.late.map((e) => [e.offset, e.watermark, e.afterIdleAdvance])).toEqual([[2, 49_999, true]]);
    expect(result.partition.watermark).toBe(59_999);
    expect(result.partition.recordWatermark).toBe(59_999);
  });

  it('takes the largest Kafka timestamp as the start of the silence (a producer clock running behind)', () => {
    // Prepare
    const run = new PartitionRun(config);
    run.fold(
      eventRecords([
        ['user_A', 1000, 2_000_000],
        ['user_A', 2000, 1_000_000],
      ]),
    );

    // Act
    const result = run.fold([tick(2, 1_000_000 + IDLE_TIMEOUT_MS)]);

    // Assess
    expect(result.partition.lastLogTime).toBe(2_000_000);
    expect(result.emitted).toEqual([]);
  });
});
