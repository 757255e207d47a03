import { describe, expect, it } from 'vitest';
import { emittedOf, engineConfig, eventRecords, foldOnce, PartitionRun } from './factories.ts';

// docs/DESIGN.md section 3, rules 1 to 6 and the worked example (allowed lateness: allowed-lateness.test.ts).

describe('worked example (G = 5000, B = 0)', () => {
  it('emits [1000, 7000) with count 2 when user_A,8000 arrives, not before', () => {
    // Prepare
    const run = new PartitionRun(engineConfig());

    // Act
    const first = run.fold(
      eventRecords([
        ['user_A', 1000],
        ['user_A', 2000],
      ]),
    );
    const second = run.fold(eventRecords([['user_A', 8000]], 2));

    // Assess
    expect(first.emitted).toEqual([]);
    expect(second.emitted).toEqual([{ userId: 'user_A', start: 1000, end: 7000, last: 2000, count: 2 }]);
    expect(second.partition.watermark).toBe(7999);
    expect(run.users.get('user_A')?.sessions).toEqual([
      { start: 8000, end: 13000, last: 8000, count: 1, pending: true, emittedStarts: [] },
    ]);
  });

  it('joins user_A,7000 to the first session instead', () => {
    // Prepare
    const records = eventRecords([
      ['user_A', 1000],
      ['user_A', 2000],
      ['user_A', 7000],
    ]);

    // Act
    const result = foldOnce(engineConfig(), records);

    // Assess
    expect(result.emitted).toEqual([]);
    expect(result.users.get('user_A')?.sessions).toEqual([
      { start: 1000, end: 12000, last: 7000, count: 3, pending: true, emittedStarts: [] },
    ]);
  });
});

describe('rule 1: an event at t starts as [t, t + G)', () => {
  it.each([1, 5000, 60_000])('opens [1000, 1000 + %i)', (gapMs) => {
    // Prepare
    const records = eventRecords([['user_A', 1000]]);

    // Act
    const result = foldOnce(engineConfig({ gapMs }), records);

    // Assess
    expect(result.users.get('user_A')?.sessions).toEqual([
      { start: 1000, end: 1000 + gapMs, last: 1000, count: 1, pending: true, emittedStarts: [] },
    ]);
  });
});

describe('rule 2: windows merge when they intersect, bounds included', () => {
  describe.each([
    { apart: 4999, merged: true },
    { apart: 5000, merged: true },
    { apart: 5001, merged: false },
  ])('events $apart ms apart (G = 5000)', ({ apart, merged }) => {
    it(merged ? 'share one session' : 'open two sessions', () => {
      // Prepare: B large enough that nothing fires in between.
      const records = eventRecords([
        ['user_A', 1000],
        ['user_A', 1000 + apart],
      ]);

      // Act
      const result = foldOnce(engineConfig({ outOfOrdernessMs: 60_000 }), records);

      // Assess
      const sessions = result.users.get('user_A')?.sessions.map((s) => [s.start, s.end, s.count]);
      expect(sessions).toEqual(
        merged
          ? [[1000, 1000 + apart + 5000, 2]]
          : [
              [1000, 6000, 1],
              [1000 + apart, 6000 + apart, 1],
            ],
      );
    });
  });

  it('merges one event with the two sessions it bridges', () => {
    // Prepare: [1000, 6000) and [11000, 16000); [6000, 11000) touches both.
    const records = eventRecords([
      ['user_A', 1000],
      ['user_A', 11_000],
      ['user_A', 6000],
    ]);

    // Act
    const result = foldOnce(engineConfig({ outOfOrdernessMs: 10_000 }), records);

    // Assess
    expect(result.users.get('user_A')?.sessions).toEqual([
      { start: 1000, end: 16_000, last: 11_000, count: 3, pending: true, emittedStarts: [] },
    ]);
  });

  it('counts duplicates as separate events', () => {
    // Prepare
    const run = new PartitionRun(engineConfig());
    run.fold(
      eventRecords([
        ['user_A', 1000],
        ['user_A', 1000],
        ['user_A', 1000],
      ]),
    );

    // Act
    const flushed = run.flush();

    // Assess
    expect(emittedOf(flushed)).toEqual([['user_A', 1000, 6000, 3]]);
  });
});

describe('rule 3: a session fires when W >= end - 1', () => {
  it.each([
    { trigger: 5999, fires: false },
    { trigger: 6000, fires: true },
  ])('W = $trigger - 1 fires [1000, 6000): $fires', ({ trigger, fires }) => {
    // Prepare
    const records = eventRecords([
      ['user_A', 1000],
      ['user_B', trigger],
    ]);

    // Act
    const result = foldOnce(engineConfig(), records);

    // Assess
    expect(emittedOf(result)).toEqual(fires ? [['user_A', 1000, 6000, 1]] : []);
  });
});

describe('rule 4: W = max(t - B - 1), per record, never backwards', () => {
  it.each([0, 1, 2500])('with B = %i the watermark is the max of t - B - 1', (outOfOrdernessMs) => {
    // Prepare
    const records = eventRecords([
      ['user_A', 9000],
      ['user_A', 7000],
      ['user_B', 3000],
    ]);

    // Act
    const result = foldOnce(engineConfig({ outOfOrdernessMs }), records);

    // Assess
    expect(result.partition.watermark).toBe(9000 - outOfOrdernessMs - 1);
    expect(result.partition.maxEventTime).toBe(9000);
  });

  it('advances after every record, not after the batch', () => {
    // Prepare: in one batch, user_B,7000 moves W to 6999 (firing [1000, 6000)) before user_A,1500
    // is judged; a per-batch watermark would have let it join that session.
    const records = eventRecords([
      ['user_A', 1000],
      ['user_B', 7000],
      ['user_A', 1500],
    ]);

    // Act
    const result = foldOnce(engineConfig(), records);

    // Assess
    expect(emittedOf(result)).toEqual([['user_A', 1000, 6000, 1]]);
    expect(result.late.map((e) => e.offset)).toEqual([2]);
  });

  it('accepts out-of-order events within B', () => {
    // Prepare: W = 2999 after 5000; 3500 is 1500 ms behind, within B = 2000.
    const records = eventRecords([
      ['user_A', 5000],
      ['user_A', 3500],
    ]);

    // Act
    const result = foldOnce(engineConfig({ outOfOrdernessMs: 2000 }), records);

    // Assess
    expect(result.late).toEqual([]);
    expect(result.users.get('user_A')?.sessions.map((s) => [s.start, s.end, s.count])).toEqual([
      [3500, 10_000, 2],
    ]);
  });
});

describe('rule 5: an event is late when its merged window has end - 1 + L <= W', () => {
  it('rejects a straggler whose own window has closed, with the W it was judged against', () => {
    // Prepare: user_B,7000 moves W to 6999; [1500, 6500) has end - 1 = 6499 <= W.
    const records = eventRecords([
      ['user_A', 1000],
      ['user_B', 7000],
      ['user_A', 1500],
    ]);

    // Act
    const result = foldOnce(engineConfig(), records);

    // Assess
    expect(result.late).toEqual([{ offset: 2, userId: 'user_A', eventTime: 1500, watermark: 6999 }]);
    expect(emittedOf(result)).toEqual([['user_A', 1000, 6000, 1]]);
    expect(result.users.get('user_A')?.sessions).toEqual([]);
  });

  it('accepts a straggler behind W that joins a live session', () => {
    // Prepare: W = 19999; [15000, 20000) alone would be late but touches [20000, 25000).
    const records = eventRecords([
      ['user_A', 20_000],
      ['user_A', 15_000],
    ]);

    // Act
    const result = foldOnce(engineConfig(), records);

    // Assess
    expect(result.late).toEqual([]);
    expect(result.users.get('user_A')?.sessions.map((s) => [s.start, s.end, s.count])).toEqual([
      [15_000, 25_000, 2],
    ]);
  });

  it('leaves the user unchanged and still moves W by the late record', () => {
    // Prepare
    const run = new PartitionRun(engineConfig());
    run.fold(
      eventRecords([
        ['user_A', 10_000],
        ['user_B', 30_000],
      ]),
    );
    const before = run.users.get('user_B');

    // Act
    const result = run.fold(eventRecords([['user_B', 1000]], 2));

    // Assess
    expect(result.late.map((e) => e.offset)).toEqual([2]);
    expect(result.users.size).toBe(0);
    expect(run.users.get('user_B')).toBe(before);
    expect(result.partition.maxEventTime).toBe(30_000);
  });
});

describe('rule 6: with L = 0 a fired session is dropped', () => {
  it('lets a straggler open a new session overlapping the emitted one, with its own row', () => {
    // Prepare: B = 3000. user_B,10000 moves W to 6999 and fires [1000, 6000); user_A,3000 opens
    // [3000, 8000) (7999 > W), which overlaps the emitted session.
    const run = new PartitionRun(engineConfig({ outOfOrdernessMs: 3000 }));

    // Act
    const result = run.fold(
      eventRecords([
        ['user_A', 1000],
        ['user_B', 10_000],
        ['user_A', 3000],
      ]),
    );
    run.flush();

    // Assess
    expect(result.late).toEqual([]);
    expect(result.users.get('user_A')?.sessions.map((s) => [s.start, s.end, s.count])).toEqual([
      [3000, 8000, 1],
    ]);
    expect(run.rows()).toEqual(
      new Map([
        ['user_A|1970-01-01T00:00:01.000Z', { count: 1, end: 6000 }],
        ['user_B|1970-01-01T00:00:10.000Z', { count: 1, end: 15_000 }],
        ['user_A|1970-01-01T00:00:03.000Z', { count: 1, end: 8000 }],
      ]),
    );
  });

  it('keeps emittedStarts empty and drops the state in the same step as the fire', () => {
    // Prepare
    const records = eventRecords([
      ['user_A', 1000],
      ['user_B', 7000],
    ]);

    // Act
    const result = foldOnce(engineConfig(), records);

    // Assess
    expect(result.superseded).toEqual([]);
    expect(result.users.get('user_A')).toEqual({ userId: 'user_A', sessions: [] });
  });
});
