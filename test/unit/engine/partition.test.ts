import { describe, expect, it } from 'vitest';
import { type EventRecord, fold, PartitionSessions } from '../../../lib/engine/index.ts';
import {
  emittedOf,
  engineConfig,
  eventRecords,
  PartitionRun,
  partitionState,
  session,
  userState,
} from './factories.ts';

// Per-partition behaviour of fold: offsets, progress fields, which users come back, many users,
// one watermark per partition (docs/DESIGN.md sections 4 and 5).

describe('fold over many users', () => {
  it('keeps every user apart and fires each session when the shared W passes it', () => {
    // Prepare: 200 users, two events each 1 s apart; then one event far ahead fires all.
    const users = Array.from({ length: 200 }, (_, i) => `user_${i}`);
    const events = users.flatMap((u, i): [string, number][] => [
      [u, 1000 + i],
      [u, 2000 + i],
    ]);
    const run = new PartitionRun(engineConfig({ outOfOrdernessMs: 1000 }));

    // Act
    const first = run.fold(eventRecords(events));
    const second = run.fold(eventRecords([['user_0', 100_000]], events.length));

    // Assess
    expect(first.emitted).toEqual([]);
    expect(first.users.size).toBe(200);
    expect(new Set(second.emitted.map((s) => s.userId)).size).toBe(200);
    expect(second.emitted.every((s, i) => s.count === 2 && s.start === 1000 + i)).toBe(true);
    expect([...second.users.values()].filter((u) => u.sessions.length > 0).map((u) => u.userId)).toEqual([
      'user_0',
    ]);
  });
});

describe('one watermark per partition', () => {
  it('does not let one partition fire another partition’s sessions', () => {
    // Prepare
    const quiet = new PartitionRun(engineConfig());
    const busy = new PartitionRun(engineConfig());
    quiet.fold(eventRecords([['user_A', 1000]]));

    // Act
    const busyResult = busy.fold(
      eventRecords([
        ['user_B', 1000],
        ['user_B', 100_000],
      ]),
    );
    const quietResult = quiet.fold(eventRecords([['user_A', 2000]], 1));

    // Assess
    expect(emittedOf(busyResult)).toEqual([['user_B', 1000, 6000, 1]]);
    expect(quietResult.emitted).toEqual([]);
    expect(quietResult.partition.watermark).toBe(1999);
    expect(quiet.users.get('user_A')?.sessions.map((s) => s.count)).toEqual([2]);
  });
});

describe('offsets', () => {
  it('skips records below nextOffset, so a re-delivered batch changes nothing', () => {
    // Prepare
    const run = new PartitionRun(engineConfig());
    const batch = eventRecords([
      ['user_A', 1000],
      ['user_A', 2000],
      ['user_A', 3000],
    ]);
    run.fold(batch);
    const before = run.partition;

    // Act
    const replay = run.fold(batch);

    // Assess
    expect(replay.users.size).toBe(0);
    expect(replay.emitted).toEqual([]);
    expect(replay.partition).toEqual(before);
    expect(run.users.get('user_A')?.sessions.map((s) => s.count)).toEqual([3]);
  });

  it('applies only the part of an overlapping batch at or after nextOffset', () => {
    // Prepare
    const run = new PartitionRun(engineConfig());
    run.fold(
      eventRecords([
        ['user_A', 1000],
        ['user_A', 2000],
      ]),
    );

    // Act
    const result = run.fold(
      eventRecords(
        [
          ['user_A', 2000],
          ['user_A', 3000],
        ],
        1,
      ),
    );

    // Assess
    expect(result.partition.nextOffset).toBe(3);
    expect(result.partition.lastLogTime).toBe(3000);
    expect(result.users.get('user_A')?.sessions.map((s) => s.count)).toEqual([3]);
  });

  it.each([
    { nextOffset: 0, endOffset: 10, expected: 10 },
    { nextOffset: 12, endOffset: 10, expected: 12 },
  ])(
    'moves nextOffset from $nextOffset to $expected for endOffset $endOffset (bad records count)',
    ({ nextOffset, endOffset, expected }) => {
      // Prepare
      const records: EventRecord[] = [{ offset: 7, userId: 'user_A', eventTime: 1000, timestamp: 1000 }];

      // Act
      const result = fold({
        config: engineConfig(),
        partition: partitionState({ nextOffset }),
        users: new Map(),
        records,
        endOffset,
      });

      // Assess
      expect(result.partition.nextOffset).toBe(expected);
    },
  );
});

describe('partition progress', () => {
  it('records the latest Kafka timestamp, max event time and record watermark, late records included', () => {
    // Prepare
    const run = new PartitionRun(engineConfig({ outOfOrdernessMs: 100 }));
    run.fold(eventRecords([['user_A', 9000, 1_000]]));

    // Act
    const result = run.fold(
      eventRecords(
        [
          ['user_B', 10_000, 1_500],
          ['user_A', 1000, 2_000],
        ],
        1,
      ),
    );

    // Assess
    expect(result.late.map((e) => e.offset)).toEqual([2]);
    expect(result.partition).toEqual({
      nextOffset: 3,
      watermark: 9899,
      maxEventTime: 10_000,
      lastLogTime: 2_000,
    });
  });

  it('keeps lastLogTime and the watermark when no record is applied', () => {
    // Prepare
    const partition = partitionState({
      nextOffset: 5,
      watermark: 10_000,
      maxEventTime: 10_001,
      lastLogTime: 77,
    });

    // Act
    const result = fold({
      config: engineConfig(),
      partition,
      users: new Map(),
      records: [],
      endOffset: 9,
    });

    // Assess
    expect(result.partition).toEqual({ ...partition, nextOffset: 9 });
  });
});

describe('users in the result', () => {
  it('lists users whose sessions emptied, with sessions: [], in the order they changed, and leaves unchanged users out', () => {
    // Prepare
    const users = new Map([
      ['user_A', userState('user_A', [session({ start: 1000, end: 6000 })])],
      ['user_C', userState('user_C', [session({ start: 50_000, end: 55_000 })])],
    ]);

    // Act
    const result = fold({
      config: engineConfig(),
      partition: partitionState({ watermark: 5000, nextOffset: 3 }),
      users,
      records: eventRecords([['user_B', 7000]], 3),
      endOffset: 4,
    });

    // Assess
    expect(emittedOf(result)).toEqual([['user_A', 1000, 6000, 1]]);
    // user_B's record comes first; the watermark it moves then fires user_A.
    expect([...result.users.keys()]).toEqual(['user_B', 'user_A']);
    expect(result.users.get('user_A')?.sessions).toEqual([]);
    expect(users.get('user_A')?.sessions).toHaveLength(1);
  });

  it('does not mutate the input state', () => {
    // Prepare
    const original = userState('user_A', [
      session({ start: 1000, end: 7000, count: 2, pending: false, emittedStarts: [1000] }),
    ]);
    const snapshot = structuredClone(original);

    // Act
    fold({
      config: engineConfig({ allowedLatenessMs: 3000 }),
      partition: partitionState({ watermark: 7999, nextOffset: 3 }),
      users: new Map([['user_A', original]]),
      records: eventRecords([['user_A', 500]], 3),
      endOffset: 4,
    });

    // Assess
    expect(original).toEqual(snapshot);
  });
});

describe('catch-up of sessions already due in a loaded state', () => {
  it.each([
    { allowedLatenessMs: 0, kept: [] },
    {
      allowedLatenessMs: 10_000,
      kept: [{ start: 1000, end: 6000, last: 1000, count: 4, pending: false, emittedStarts: [1000] }],
    },
  ])(
    'fires a due pending session before any record (L = $allowedLatenessMs)',
    ({ allowedLatenessMs, kept }) => {
      // Prepare: W is already 8000 but [1000, 6000) never fired.
      const users = new Map([
        ['user_A', userState('user_A', [session({ start: 1000, end: 6000, count: 4 })])],
      ]);

      // Act
      const result = fold({
        config: engineConfig({ allowedLatenessMs }),
        partition: partitionState({ watermark: 8000, nextOffset: 1 }),
        users,
        records: eventRecords([['user_A', 5500]], 1),
        endOffset: 2,
      });

      // Assess: the record comes after the fire, so with L = 0 it opens a new session.
      expect(emittedOf(result)[0]).toEqual(['user_A', 1000, 6000, 4]);
      expect(result.users.get('user_A')?.sessions).toEqual(
        allowedLatenessMs === 0
          ? [{ start: 5500, end: 10_500, last: 5500, count: 1, pending: true, emittedStarts: [] }]
          : [{ ...kept[0], count: 5, end: 10_500, last: 5500, pending: false }],
      );
    },
  );

  it('drops an expired kept session without emitting it', () => {
    // Prepare
    const users = new Map([
      [
        'user_A',
        userState('user_A', [session({ start: 1000, end: 6000, pending: false, emittedStarts: [1000] })]),
      ],
    ]);

    // Act
    const result = fold({
      config: engineConfig({ allowedLatenessMs: 1000 }),
      partition: partitionState({ watermark: 7000 }),
      users,
      records: [],
      endOffset: 0,
    });

    // Assess
    expect(result.emitted).toEqual([]);
    expect(result.users.get('user_A')?.sessions).toEqual([]);
  });
});

describe('a long-lived PartitionSessions (a warm container)', () => {
  it('gives the same results as folds from exported state, and lists only the users each batch changed', () => {
    // Prepare
    const config = engineConfig({ allowedLatenessMs: 2000 });
    const batches = [
      eventRecords([
        ['user_A', 1000],
        ['user_B', 1500],
      ]),
      eventRecords(
        [
          ['user_A', 2000],
          ['user_C', 9000],
        ],
        2,
      ),
      eventRecords(
        [
          ['user_A', 3000],
          ['user_B', 20_000],
        ],
        4,
      ),
    ];
    const run = new PartitionRun(config);
    const warm = new PartitionSessions(config, partitionState(), []);

    // Act
    const folded = batches.map((b) => run.fold(b));
    const kept = batches.map((b) => {
      const result = warm.apply(b, (b.at(-1)?.offset ?? 0) + 1);
      // Read before the next batch begins: the changed users are a view into the engine.
      expect(result.users.size).toBe(result.changed.size);
      return result;
    });

    // Assess
    expect(kept).toEqual(folded);
    const live = [...run.users.values()].filter((u) => u.sessions.length > 0);
    expect(warm.users()).toEqual(live);
    expect(warm.stats()).toEqual({
      liveSessions: live.reduce((n, u) => n + u.sessions.length, 0),
      pendingSessions: live.reduce((n, u) => n + u.sessions.filter((x) => x.pending).length, 0),
      liveUsers: live.length,
    });
  });
});

describe('the users a batch changed (FoldResult.changed)', () => {
  /** What a visitor is handed, as [userId, [start, end, count, pending, emittedStarts]...]. */
  function visited(result: ReturnType<PartitionSessions['apply']>): unknown[] {
    const seen: unknown[] = [];
    let sessions: unknown[] = [];
    result.changed.visit({
      user(userId) {
        sessions = [];
        seen.push([userId, sessions]);
      },
      session(start, end, _last, count, pending, emittedStarts) {
        sessions.push([start, end, count, pending, [...emittedStarts]]);
      },
    });
    return seen;
  }

  it('hands each changed user over as its plain copy holds it, a dropped one without sessions, until the next batch begins', () => {
    // Prepare: user_A's session fires and is dropped by user_B's event (no allowed lateness).
    const warm = new PartitionSessions(engineConfig(), partitionState(), []);
    const first = warm.apply(eventRecords([['user_A', 1000]]), 1);

    // Act
    const second = warm.apply(eventRecords([['user_B', 60_000]], 1), 2);
    const seen = visited(second);
    const users = second.users;
    const third = warm.apply(eventRecords([['user_A', 62_000]], 2), 3);

    // Assess
    expect(() => visited(first)).toThrow(/readable until the next batch begins/);
    expect(seen).toEqual([
      ['user_B', [[60_000, 65_000, 1, true, []]]],
      ['user_A', []],
    ]);
    expect(second.changed.size).toBe(2);
    expect([...users.values()]).toEqual([
      userState('user_B', [session({ start: 60_000, end: 65_000 })]),
      userState('user_A', []),
    ]);
    expect(() => visited(second)).toThrow(/readable until the next batch begins/);
    expect(visited(third)).toEqual([['user_A', [[62_000, 67_000, 1, true, []]]]]);
    expect(warm.stats()).toEqual({ liveSessions: 2, pendingSessions: 2, liveUsers: 2 });
    expect(warm.users().map((u) => u.userId)).toEqual(['user_B', 'user_A']);
  });
});
