import { deflateRawSync } from 'node:zlib';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  decodeImage,
  encodeImage,
  IMAGE_FORMAT,
  LEGACY_IMAGE_FORMAT,
  PIECE_BYTES,
  readImageUsers,
  type StoredImage,
} from '../../../lib/checkpoint/index.ts';
import {
  MAX_EVENT_TIME_MS,
  PartitionLoader,
  type Session,
  type UserState,
} from '../../../lib/engine/index.ts';
import { CheckpointCorruptError } from '../../../lib/errors.ts';

// docs/STATE.md section 2: a state image is encoded and decoded user by user, frame by frame, piece
// by piece (image format 2), and the images of earlier releases (format 1, deflated JSON) are still
// read, so that a checkpoint upgrades in place.

/** Format 1 exactly as the releases before format 2 wrote it (lib/checkpoint/image.ts of release 0.1.0). */
function legacyImage(users: readonly UserState[]): StoredImage {
  let base = Number.POSITIVE_INFINITY;
  for (const user of users) for (const s of user.sessions) if (s.start < base) base = s.start;
  if (base === Number.POSITIVE_INFINITY) base = 0;
  const u = users.map((user) => [
    user.userId,
    user.sessions.map((s) => [
      s.start - base,
      s.end - s.start,
      s.last - s.start,
      s.count,
      s.pending ? 1 : 0,
      ...s.emittedStarts.map((e) => e - base),
    ]),
  ]);
  const bytes = deflateRawSync(JSON.stringify({ f: 1, b: base, u }), { level: 3 });
  return { format: LEGACY_IMAGE_FORMAT, pieces: [bytes.subarray(0, 7), bytes.subarray(7)] };
}

const stored = (image: ReturnType<typeof encodeImage>): StoredImage => ({
  format: image.format,
  pieces: image.pieces,
});

/** Users as the engine holds them: sorted, separated sessions with rows written under past starts. */
const userArbitrary = fc
  .record({
    userId: fc.oneof(
      fc.string({ minLength: 1, maxLength: 30 }),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 10 }),
      // Lone surrogates and other code units beyond Latin-1: any JS string must come back as it was.
      fc.string({ unit: 'binary', minLength: 1, maxLength: 10 }),
    ),
    first: fc.integer({ min: 0, max: MAX_EVENT_TIME_MS - 10_000_000 }),
    sessions: fc.array(
      fc.record({
        gapBefore: fc.integer({ min: 1, max: 1_000_000 }),
        length: fc.integer({ min: 1, max: 100_000 }),
        lastAt: fc.double({ min: 0, max: 1, noNaN: true }),
        count: fc.oneof(fc.integer({ min: 1, max: 100 }), fc.constant(2 ** 53 - 1)),
        pending: fc.boolean(),
        emitted: fc.array(fc.integer({ min: 0, max: 100_000 }), { maxLength: 3 }),
      }),
      { minLength: 1, maxLength: 4 },
    ),
  })
  .map(({ userId, first, sessions }): UserState => {
    let at = first;
    return {
      userId,
      sessions: sessions.map((s): Session => {
        const start = at + s.gapBefore;
        const end = start + s.length;
        at = end;
        return {
          start,
          end,
          last: start + Math.floor(s.lastAt * (s.length - 1)),
          count: s.count,
          pending: s.pending,
          emittedStarts: [...new Set(s.emitted.map((e) => start + e))].sort((a, b) => a - b),
        };
      }),
    };
  });
const usersArbitrary = fc.uniqueArray(userArbitrary, { selector: (u) => u.userId, maxLength: 40 });

describe('state image, format 2', () => {
  afterEach(() => vi.restoreAllMocks());

  it('gives back every user as it was, whatever its id, times, counts and emitted starts', () => {
    fc.assert(
      fc.property(usersArbitrary, (users) => {
        // Act
        const image = encodeImage(users);

        // Assess
        expect(image.format).toBe(IMAGE_FORMAT);
        expect(readImageUsers([stored(image)], 'test')).toEqual(users);
      }),
      { numRuns: 300 },
    );
  });

  it('reads format 1 (deflated JSON of release 0.1.0) into the same users', () => {
    fc.assert(
      fc.property(usersArbitrary, (users) => {
        // Act
        const read = readImageUsers([legacyImage(users)], 'test');

        // Assess
        expect(read).toEqual(users);
      }),
      { numRuns: 300 },
    );
  });

  it('applies a snapshot and the deltas after it in order: a later user replaces, a tombstone removes', () => {
    // Prepare
    const s = (start: number): Session => ({
      start,
      end: start + 5000,
      last: start,
      count: 1,
      pending: true,
      emittedStarts: [],
    });
    const snapshot = legacyImage([
      { userId: 'a', sessions: [s(1000)] },
      { userId: 'b', sessions: [s(2000)] },
      { userId: 'c', sessions: [s(3000)] },
    ]);
    const delta = encodeImage([
      { userId: 'b', sessions: [] },
      { userId: 'a', sessions: [s(9000)] },
      { userId: 'd', sessions: [s(4000)] },
    ]);

    // Act
    const users = readImageUsers([snapshot, stored(delta)], 'test');

    // Assess
    expect(users).toEqual([
      { userId: 'a', sessions: [s(9000)] },
      { userId: 'c', sessions: [s(3000)] },
      { userId: 'd', sessions: [s(4000)] },
    ]);
  });

  it('cuts a big image into pieces of at most PIECE_BYTES, with frames across pieces, and reads it back', () => {
    // Prepare: ids that barely compress, so the image spans several pieces and many frames.
    const users: UserState[] = Array.from({ length: 60_000 }, (_, i) => ({
      userId: `${(i * 2654435761) % 4294967296}-${(i * 40503) % 65536}-${i}`,
      sessions: [
        { start: i * 7, end: i * 7 + 5000, last: i * 7, count: 1, pending: true, emittedStarts: [] },
      ],
    }));

    // Act
    const image = encodeImage(users);
    const read = readImageUsers([stored(image)], 'test');

    // Assess
    expect(image.pieces.length).toBeGreaterThan(2);
    expect(image.pieces.every((p) => p.length <= PIECE_BYTES)).toBe(true);
    expect(image.pieces.reduce((n, p) => n + p.length, 0)).toBe(image.bytes);
    expect(read).toEqual(users);
  });

  it('never makes a string of the whole image, nor JSON of it, either way (formats 1 and 2)', () => {
    // Prepare
    const users: UserState[] = Array.from({ length: 20_000 }, (_, i) => ({
      userId: `user_${i}`,
      sessions: [{ start: i, end: i + 5000, last: i, count: 2, pending: false, emittedStarts: [i] }],
    }));
    const legacy = legacyImage(users);
    const stringify = vi.spyOn(JSON, 'stringify');
    const bufferToString = vi.spyOn(Buffer.prototype, 'toString');
    const loader = new PartitionLoader(
      { gapMs: 5000, outOfOrdernessMs: 0, allowedLatenessMs: 0, idleFlush: false },
      { nextOffset: 0, watermark: null, maxEventTime: null, lastLogTime: null },
    );

    // Act
    const image = encodeImage(users);
    decodeImage(stored(image), loader.visitor, 'test');
    decodeImage(legacy, loader.visitor, 'test');
    const longest = Math.max(
      0,
      ...bufferToString.mock.calls.map(
        ([, start, end]) => (Number(end) || Number.POSITIVE_INFINITY) - Number(start ?? 0),
      ),
    );

    // Assess
    expect(stringify).not.toHaveBeenCalled();
    expect(longest).toBeLessThan(1000);
    expect(loader.finish().stats()).toEqual({ liveSessions: 20_000, pendingSessions: 0, liveUsers: 20_000 });
  });

  it.each([
    { what: 'garbage', image: { format: IMAGE_FORMAT, pieces: [Buffer.from('not an image at all')] } },
    { what: 'format 1 garbage', image: { format: LEGACY_IMAGE_FORMAT, pieces: [Buffer.from('nope')] } },
    {
      what: 'a cut frame',
      image: {
        format: IMAGE_FORMAT,
        pieces: [encodeImage([{ userId: 'a', sessions: [] }]).pieces[0]?.subarray(0, 14) as Buffer],
      },
    },
    { what: 'an unknown format', image: { format: 9, pieces: [] } },
    {
      what: 'format 1 with another f',
      image: { format: LEGACY_IMAGE_FORMAT, pieces: [deflateRawSync('{"f":7,"b":0,"u":[]}')] },
    },
  ])('refuses $what as a corrupt checkpoint', ({ image }) => {
    // Act
    const read = () => readImageUsers([image], 'the image');

    // Assess
    expect(read).toThrow(CheckpointCorruptError);
  });
});
