import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type EmittedSession, EmittedSessions } from '../../../lib/engine/index.ts';

const sessions = fc.array(
  fc.record({
    userId: fc.string(),
    start: fc.integer({ min: 0, max: 2 ** 48 }),
    end: fc.integer({ min: 0, max: 2 ** 48 }),
    last: fc.integer({ min: 0, max: 2 ** 48 }),
    count: fc.integer({ min: 1, max: 2 ** 31 }),
  }),
);

describe('EmittedSessions', () => {
  it('holds sessions as columns and gives them back as the same objects, in order', () => {
    // Act and assess
    fc.assert(
      fc.property(sessions, (given: EmittedSession[]) => {
        const columns = EmittedSessions.from(given);
        expect(columns.length).toBe(given.length);
        expect([...columns]).toEqual(given);
        expect(given.map((_, i) => columns.at(i))).toEqual(given);
        expect(columns.ends).toEqual(given.map((s) => s.end));
        expect(EmittedSessions.from(columns)).toBe(columns);
      }),
    );
  });

  it('concatenates two emissions into new columns, leaving both as they were', () => {
    // Act and assess
    fc.assert(
      fc.property(sessions, sessions, (a: EmittedSession[], b: EmittedSession[]) => {
        const first = EmittedSessions.from(a);
        const second = EmittedSessions.from(b);
        expect([...first.concat(second)]).toEqual([...a, ...b]);
        expect([...first]).toEqual(a);
        expect([...second]).toEqual(b);
      }),
    );
  });
});
