import { describe, expect, it } from 'vitest';
import { referenceSessions } from '../../../reference/sessions.ts';
import { emittedOf, engineConfig, eventRecords, PartitionRun } from './factories.ts';

// docs/DESIGN.md section 3, rule 7: with L > 0 a fired session is kept until W >= end - 1 + L, joins
// update its row, and rows of superseded starts are deleted (Flink leaves them behind).

const key = (userId: string, start: number): string => `${userId}|${new Date(start).toISOString()}`;

/** user_A's [1000, 7000) with count 2, fired at W = 7999 and kept (L = 3000: until W >= 9999). */
function firedAndKept(): PartitionRun {
  const run = new PartitionRun(engineConfig({ allowedLatenessMs: 3000 }));
  run.fold(
    eventRecords([
      ['user_A', 1000],
      ['user_A', 2000],
      ['user_B', 8000],
    ]),
  );
  return run;
}

describe('rule 7: a fired session is kept for the allowed lateness', () => {
  it('keeps the fired session, no longer pending, remembering its row', () => {
    // Prepare
    const run = new PartitionRun(engineConfig({ allowedLatenessMs: 3000 }));

    // Act
    const result = run.fold(
      eventRecords([
        ['user_A', 1000],
        ['user_A', 2000],
        ['user_B', 8000],
      ]),
    );

    // Assess
    expect(emittedOf(result)).toEqual([['user_A', 1000, 7000, 2]]);
    expect(result.users.get('user_A')?.sessions).toEqual([
      { start: 1000, end: 7000, last: 2000, count: 2, pending: false, emittedStarts: [1000] },
    ]);
  });

  describe.each([
    { trigger: 9999, dropped: false },
    { trigger: 10_000, dropped: true },
  ])('when W reaches $trigger - 1 (end - 1 + L = 9999)', ({ trigger, dropped }) => {
    it(dropped ? 'drops the session' : 'still keeps the session', () => {
      // Prepare
      const run = firedAndKept();

      // Act
      const result = run.fold(eventRecords([['user_B', trigger]], 3));

      // Assess
      expect(result.emitted).toEqual([]);
      expect(run.users.get('user_A')?.sessions.length).toBe(dropped ? 0 : 1);
    });
  });

  it('rejects a straggler for a session that has been dropped', () => {
    // Prepare
    const run = firedAndKept();
    run.fold(eventRecords([['user_B', 10_000]], 3));

    // Act
    const result = run.fold(eventRecords([['user_A', 1500]], 4));

    // Assess
    expect(result.late.map((e) => [e.offset, e.watermark])).toEqual([[4, 9999]]);
    expect(result.emitted).toEqual([]);
  });

  it('fires a lone straggler within the lateness at once (EventTimeTrigger.onElement)', () => {
    // Prepare: W = 7499; [1000, 6000) is past its end (5999 <= W) but not late (8999 > W).
    const run = new PartitionRun(engineConfig({ allowedLatenessMs: 3000 }));
    run.fold(eventRecords([['user_B', 7500]]));

    // Act
    const result = run.fold(eventRecords([['user_A', 1000]], 1));

    // Assess
    expect(emittedOf(result)).toEqual([['user_A', 1000, 6000, 1]]);
    expect(result.users.get('user_A')?.sessions).toEqual([
      { start: 1000, end: 6000, last: 1000, count: 1, pending: false, emittedStarts: [1000] },
    ]);
  });
});

describe('rule 7: joins of a fired session update its row', () => {
  it('re-emits at once with the new count when an event joins inside it', () => {
    // Prepare
    const run = firedAndKept();

    // Act: [1500, 6500) joins; the session still ends at 7000, already <= W + 1.
    const result = run.fold(eventRecords([['user_A', 1500]], 3));

    // Assess
    expect(emittedOf(result)).toEqual([['user_A', 1000, 7000, 3]]);
    expect(result.superseded).toEqual([]);
    expect(run.rows().get(key('user_A', 1000))).toEqual({ count: 3, end: 7000 });
  });

  it('re-emits under the same key at once when the join moves the end past W, and not again when W passes it', () => {
    // Prepare
    const run = firedAndKept();

    // Act: Flink would wait for W to pass 8999; the row follows the session at once instead, so
    // a row of a live session always shows it as it is (docs/DESIGN.md section 4).
    const joined = run.fold(eventRecords([['user_A', 4000]], 3));
    const passed = run.fold(eventRecords([['user_B', 9000]], 4));

    // Assess
    expect(emittedOf(joined)).toEqual([['user_A', 1000, 9000, 3]]);
    expect(joined.users.get('user_A')?.sessions).toEqual([
      { start: 1000, end: 9000, last: 4000, count: 3, pending: false, emittedStarts: [1000] },
    ]);
    expect(passed.emitted).toEqual([]);
    expect(run.rows().get(key('user_A', 1000))).toEqual({ count: 3, end: 9000 });
  });

  it('emits the merged row and supersedes the old start when a join moves the start', () => {
    // Prepare
    const run = firedAndKept();

    // Act
    const result = run.fold(eventRecords([['user_A', 500]], 3));

    // Assess
    expect(emittedOf(result)).toEqual([['user_A', 500, 7000, 3]]);
    expect(result.superseded).toEqual([{ userId: 'user_A', start: 1000 }]);
    expect(run.rows()).toEqual(new Map([[key('user_A', 500), { count: 3, end: 7000 }]]));
  });

  it('supersedes the later row when an event bridges two emitted sessions', () => {
    // Prepare: [1000, 6000) fires at W = 6999, [7000, 12000) at W = 12999; both kept.
    const run = new PartitionRun(engineConfig({ allowedLatenessMs: 20_000 }));
    run.fold(
      eventRecords([
        ['user_A', 1000],
        ['user_A', 7000],
        ['user_X', 13_000],
      ]),
    );

    // Act: [4000, 9000) touches both.
    const result = run.fold(eventRecords([['user_A', 4000]], 3));

    // Assess
    expect(emittedOf(result)).toEqual([['user_A', 1000, 12_000, 3]]);
    expect(result.superseded).toEqual([{ userId: 'user_A', start: 7000 }]);
    expect(run.rows()).toEqual(new Map([[key('user_A', 1000), { count: 3, end: 12_000 }]]));
  });

  it('supersedes the rows of every session merged into one that fires under a new start', () => {
    // Prepare: two emitted sessions, the second extended (pending again), bridged, then moved.
    const run = new PartitionRun(engineConfig({ allowedLatenessMs: 100_000 }));
    run.fold(
      eventRecords([
        ['user_A', 1000],
        ['user_A', 7000],
        ['user_X', 12_500],
      ]),
    );
    const merged = run.fold(
      eventRecords(
        [
          ['user_A', 12_000],
          ['user_A', 4000],
          ['user_A', 500],
        ],
        3,
      ),
    );

    // Act
    const result = run.flush();

    // Assess: each join rewrote the row at once; the sink keeps the last per key and deletes the
    // superseded starts.
    expect(emittedOf(merged).at(-1)).toEqual(['user_A', 500, 17_000, 5]);
    expect(merged.users.get('user_A')?.sessions).toEqual([
      { start: 500, end: 17_000, last: 12_000, count: 5, pending: false, emittedStarts: [500] },
    ]);
    expect(merged.superseded).toEqual([
      { userId: 'user_A', start: 7000 },
      { userId: 'user_A', start: 1000 },
    ]);
    expect(emittedOf(result)).toEqual([['user_X', 12_500, 17_500, 1]]);
    expect([...run.rows().keys()].filter((k) => k.startsWith('user_A'))).toEqual([key('user_A', 500)]);
  });

  it('withdraws a delete when the same key is emitted again later in the fold', () => {
    // Prepare: user_A|1000 is superseded by user_A|500, whose session is then dropped; a new
    // session starting at 1000 forms and fires, all in one batch.
    const config = engineConfig({ allowedLatenessMs: 1000 });
    const records = eventRecords([
      ['user_A', 1000],
      ['user_X', 6500],
      ['user_A', 500],
      ['user_X', 7000],
      ['user_A', 6000],
      ['user_A', 1000],
      ['user_X', 11_000],
    ]);
    const run = new PartitionRun(config);

    // Act
    const result = run.fold(records);

    // Assess
    expect(emittedOf(result)).toEqual([
      ['user_A', 1000, 6000, 1],
      ['user_A', 500, 6000, 2],
      ['user_A', 1000, 11_000, 2],
    ]);
    expect(result.superseded).toEqual([]);
    expect(run.rows()).toEqual(
      new Map([
        [key('user_A', 1000), { count: 2, end: 11_000 }],
        [key('user_A', 500), { count: 2, end: 6000 }],
      ]),
    );
    expect(run.rows()).toEqual(referenceSessions(config, records).rows);
  });
});
