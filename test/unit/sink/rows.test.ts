import { describe, expect, it } from 'vitest';
import { type EmittedSession, EmittedSessions } from '../../../lib/engine/index.ts';
import { sessionRows } from '../../../lib/sink/index.ts';

const session = (userId: string, start: number, last: number, count: number): EmittedSession => ({
  userId,
  start,
  last,
  end: last + 5000,
  count,
});

// The array parameters of the two session upserts (aggregated_counts, user_sessions): one element
// per group_key, index-aligned, times as zone-less UTC literals.
describe('sessionRows', () => {
  it('gives one element per group_key, the last emission of each, in every array', () => {
    // Act
    const { upserts, deletes } = sessionRows({
      emitted: [
        session('user_A', 1000, 2000, 2),
        session('user_B', 0, 0, 1),
        session('user_A', 1000, 4500, 3),
      ],
      superseded: [],
      rejections: [],
    });

    // Assess
    expect(upserts).toEqual({
      keys: ['user_A|1970-01-01T00:00:01.000Z', 'user_B|1970-01-01T00:00:00.000Z'],
      userIds: ['user_A', 'user_B'],
      counts: [3, 1],
      starts: [1000, 0],
      lasts: [4500, 0],
      ends: [9500, 5000],
    });
    expect(deletes).toEqual({ keys: [], userIds: [], starts: [] });
  });

  it('reads the engine’s columns as it reads objects', () => {
    // Prepare
    const emitted = [
      session('user_A', 1000, 2000, 2),
      session('user_B', 0, 0, 1),
      session('user_A', 1000, 4500, 3),
    ];
    const superseded = [{ userId: 'user_B', start: 0 }];

    // Act
    const fromColumns = sessionRows({ emitted: EmittedSessions.from(emitted), superseded, rejections: [] });

    // Assess
    expect(fromColumns).toEqual(sessionRows({ emitted, superseded, rejections: [] }));
    expect(fromColumns.upserts.keys).toEqual(['user_A|1970-01-01T00:00:01.000Z']);
  });

  it('deletes a superseded key and leaves it out of the upserts', () => {
    // Act
    const { upserts, deletes } = sessionRows({
      emitted: [session('user_A', 3000, 3000, 1), session('user_A', 1000, 3000, 2)],
      superseded: [{ userId: 'user_A', start: 3000 }],
      rejections: [],
    });

    // Assess
    expect(deletes).toEqual({
      keys: ['user_A|1970-01-01T00:00:03.000Z'],
      userIds: ['user_A'],
      starts: [3000],
    });
    expect(upserts.keys).toEqual(['user_A|1970-01-01T00:00:01.000Z']);
    expect(upserts.lasts).toEqual([3000]);
  });
});
