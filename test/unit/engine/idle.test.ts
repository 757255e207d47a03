import { describe, expect, it } from 'vitest';
import { emittedOf, engineConfig, eventRecords, PartitionRun, tick } from './factories.ts';

// docs/DESIGN.md section 4: the idle flush is early firing. An idle tick writes every session with
// unwritten changes as a provisional row; the records' watermark alone decides lateness and when a
// session is final, so ticks decide when rows appear, never what they finally hold.

const config = engineConfig({ idleFlush: true });
const key = (userId: string, start: number) => `${userId}|${new Date(start).toISOString()}`;

describe('an idle tick', () => {
  const seed = eventRecords([
    ['user_A', 1000],
    ['user_A', 2000],
    ['user_B', 4000],
  ]);

  it('writes every pending session early, whatever its timestamp, without moving the watermark', () => {
    // Prepare
    const run = new PartitionRun(config);
    run.fold(seed);

    // Act: a tick stamped in the past: its timestamp means nothing to the fold.
    const result = run.fold([tick(3, -1)]);

    // Assess
    expect(emittedOf(result)).toEqual([
      ['user_A', 1000, 7000, 2],
      ['user_B', 4000, 9000, 1],
    ]);
    expect(result.earlyFired).toBe(2);
    expect(result.partition.watermark).toBe(3999);
    expect(result.partition.nextOffset).toBe(4);
    // The sessions stay, written: live, not pending.
    expect(result.users.get('user_A')?.sessions).toEqual([
      { start: 1000, end: 7000, last: 2000, count: 2, pending: false, emittedStarts: [1000] },
    ]);
  });

  it('writes nothing again for a second tick, or for a far-future one, when nothing changed', () => {
    // Prepare
    const run = new PartitionRun(config);
    run.fold(seed);
    run.fold([tick(3, 1)]);

    // Act
    const again = run.fold([tick(4, 8_640_000_000_000_000), tick(5, 2)]);

    // Assess
    expect(again.emitted).toEqual([]);
    expect(again.partition.watermark).toBe(3999);
  });

  it('is read and ignored when the idle flush is off (strict Flink)', () => {
    // Prepare
    const run = new PartitionRun(engineConfig({ idleFlush: false }));
    run.fold(seed);

    // Act
    const result = run.fold([tick(3, 9_999_999_999)]);

    // Assess
    expect(result.emitted).toEqual([]);
    expect(result.partition.watermark).toBe(3999);
    expect(result.partition.nextOffset).toBe(4);
  });
});

describe('a provisional row', () => {
  it('is updated by an on-time record that joins its session (the lab: 1000, 2000, pause, 3000)', () => {
    // Prepare: the lab's user_A,1000 and user_A,2000, a pause that brings a tick.
    const run = new PartitionRun(config);
    run.fold(
      eventRecords([
        ['user_A', 1000],
        ['user_A', 2000],
      ]),
    );
    const provisional = run.fold([tick(2, 0)]);

    // Act: user_A,3000 is on time by the records' watermark (1999) and joins; another pause.
    const joined = run.fold(eventRecords([['user_A', 3000]], 3));
    const again = run.fold([tick(4, 0)]);

    // Assess: as in Flink, one session [1000, 8000) of 3 events; its row follows it at once.
    expect(emittedOf(provisional)).toEqual([['user_A', 1000, 7000, 2]]);
    expect(joined.late).toEqual([]);
    expect(emittedOf(joined)).toEqual([['user_A', 1000, 8000, 3]]);
    expect(joined.earlyFired).toBe(0);
    expect(again.emitted).toEqual([]);
    expect(run.rows()).toEqual(new Map([[key('user_A', 1000), { count: 3, end: 8000 }]]));
  });

  it('becomes final, and leaves state, when the records watermark passes it; nothing is written again', () => {
    // Prepare
    const run = new PartitionRun(config);
    run.fold(eventRecords([['user_A', 1000]]));
    run.fold([tick(1, 0)]);

    // Act: user_A,9000 moves W to 8999 >= 5999.
    const result = run.fold(eventRecords([['user_A', 9000]], 2));

    // Assess: the session of 1000 is dropped without a second write; 9000 opens a new one.
    expect(result.emitted).toEqual([]);
    expect(result.users.get('user_A')?.sessions.map((s) => [s.start, s.end, s.pending])).toEqual([
      [9000, 14_000, true],
    ]);
    expect(run.rows()).toEqual(new Map([[key('user_A', 1000), { count: 1, end: 6000 }]]));
  });

  it('is rewritten in the batch of the record that changes it, and not again when it becomes final', () => {
    // Prepare
    const run = new PartitionRun(config);
    run.fold(eventRecords([['user_A', 1000]]));
    run.fold([tick(1, 0)]);

    // Act
    const joined = run.fold(eventRecords([['user_A', 4000]], 2));
    const final = run.fold(eventRecords([['user_B', 20_000]], 3));

    // Assess: a row of a live session always shows it as it is (session_status relies on it).
    expect(emittedOf(joined)).toEqual([['user_A', 1000, 9000, 2]]);
    expect(final.emitted).toEqual([]);
    expect(final.users.get('user_A')?.sessions).toEqual([]);
  });

  it('is deleted when an on-time record moves its session start (rule 7 with L = 0)', () => {
    // Prepare: B = 2000, so user_A,500 after user_A,1000 is on time (W = -1001).
    const run = new PartitionRun(engineConfig({ idleFlush: true, outOfOrdernessMs: 2000 }));
    run.fold(eventRecords([['user_A', 1000]]));
    run.fold([tick(1, 0)]);

    // Act
    const merged = run.fold(eventRecords([['user_A', 500]], 2));

    // Assess
    expect(merged.late).toEqual([]);
    expect(emittedOf(merged)).toEqual([['user_A', 500, 6000, 2]]);
    expect(merged.superseded).toEqual([{ userId: 'user_A', start: 1000 }]);
    expect(run.rows()).toEqual(new Map([[key('user_A', 500), { count: 2, end: 6000 }]]));
  });

  it('is deleted, with its neighbour, when a record bridges two provisional sessions', () => {
    // Prepare: B = 6000: [1000, 6000) and [7000, 12000) written early, W = 999.
    const run = new PartitionRun(engineConfig({ idleFlush: true, outOfOrdernessMs: 6000 }));
    run.fold(
      eventRecords([
        ['user_A', 1000],
        ['user_A', 7000],
      ]),
    );
    run.fold([tick(2, 0)]);

    // Act: 6000 touches both.
    const bridged = run.fold(eventRecords([['user_A', 6000]], 3));

    // Assess
    expect(emittedOf(bridged)).toEqual([['user_A', 1000, 12_000, 3]]);
    expect(bridged.superseded).toEqual([{ userId: 'user_A', start: 7000 }]);
    expect(run.rows()).toEqual(new Map([[key('user_A', 1000), { count: 3, end: 12_000 }]]));
  });
});

describe('lateness is the records’ business alone', () => {
  it('counts a record that the old idle advance would have rejected', () => {
    // Prepare: a tick after a long silence used to move W by the silence (issue 17's 67 % late).
    const run = new PartitionRun(config);
    run.fold(eventRecords([['user_A', 1000, 1_000_000]]));
    run.fold([tick(1, 1_000_000 + 49_000)]);

    // Act: on time by the records: W = 999.
    const result = run.fold(eventRecords([['user_A', 40_000, 1_049_500]], 2));

    // Assess
    expect(result.late).toEqual([]);
    expect(result.partition.watermark).toBe(39_999);
  });

  it('rejects what Flink rejects, tick or no tick', () => {
    // Prepare
    const run = new PartitionRun(config);
    run.fold(
      eventRecords([
        ['user_A', 1000],
        ['user_B', 10_000],
      ]),
    );
    run.fold([tick(2, 0)]);

    // Act: [1000, 6000) is late at W = 9999.
    const result = run.fold(eventRecords([['user_C', 1000]], 3));

    // Assess
    expect(result.late.map((l) => [l.offset, l.watermark])).toEqual([[3, 9999]]);
  });
});
