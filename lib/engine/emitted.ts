import type { EmittedSession } from './types.ts';

/**
 * Fired sessions as columns, in emission order: session i is (userIds[i], starts[i], ends[i],
 * lasts[i], counts[i]). A fold fires a session every few records; held as objects, each would be an
 * object and three boxed doubles for the collector to move (V8 keeps a double in an object field as
 * a heap number), while an array of numbers holds them unboxed: one fold of the bench's stream ran
 * about a third faster this way (docs/BENCHMARKS.md, "The night of 2026-12-04"). The sink reads the
 * columns as they are (lib/sink/rows.ts); `at` and iteration give objects, for tests and tools.
 */
export class EmittedSessions implements Iterable<EmittedSession> {
  readonly userIds: string[] = [];
  readonly starts: number[] = [];
  readonly ends: number[] = [];
  readonly lasts: number[] = [];
  readonly counts: number[] = [];

  /** Sessions given as objects (a test's, a tool's) as columns; columns are returned as they are. */
  static from(sessions: EmittedSessions | Iterable<EmittedSession>): EmittedSessions {
    if (sessions instanceof EmittedSessions) return sessions;
    const columns = new EmittedSessions();
    for (const s of sessions) columns.push(s.userId, s.start, s.end, s.last, s.count);
    return columns;
  }

  get length(): number {
    return this.userIds.length;
  }

  push(userId: string, start: number, end: number, last: number, count: number): void {
    this.userIds.push(userId);
    this.starts.push(start);
    this.ends.push(end);
    this.lasts.push(last);
    this.counts.push(count);
  }

  /** These sessions, then `other`'s, as new columns (copied column by column, no object per session). */
  concat(other: EmittedSessions): EmittedSessions {
    const both = new EmittedSessions();
    for (const part of [this, other]) {
      for (let i = 0; i < part.length; i++) {
        both.push(
          part.userIds[i] as string,
          part.starts[i] as number,
          part.ends[i] as number,
          part.lasts[i] as number,
          part.counts[i] as number,
        );
      }
    }
    return both;
  }

  /** Session i as an object. */
  at(i: number): EmittedSession {
    return {
      userId: this.userIds[i] as string,
      start: this.starts[i] as number,
      end: this.ends[i] as number,
      last: this.lasts[i] as number,
      count: this.counts[i] as number,
    };
  }

  *[Symbol.iterator](): Iterator<EmittedSession> {
    for (let i = 0; i < this.length; i++) yield this.at(i);
  }
}
