import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { Session, UserState } from '../engine/index.ts';
import { CheckpointCorruptError } from '../errors.ts';
import { IMAGE_FORMAT, PIECE_BYTES } from './constants.ts';

/*
 * A state image: the users of a snapshot (every live user) or of a delta (the users one transition
 * changed; a user with no sessions is a tombstone), as deflated JSON (docs/DESIGN.md section 5, docs/STATE.md
 * section 2). Compact because write units are billed per KB: times are stored relative to a base
 * (the smallest session start in the image) and to their session's start, so most numbers have a
 * few digits, and the repetition that is left (user id prefixes, small counts) deflates well.
 *
 *   {"f": 1, "b": base, "u": [[userId, [[start - b, end - start, last - start, count, pending,
 *                                        ...emittedStarts - b], ...]], ...]}
 */

type SessionTuple = number[];
type UserTuple = [string, SessionTuple[]];
interface Image {
  f: number;
  b: number;
  u: UserTuple[];
}

/** Deflate level 3: within a few percent of the default's size at about half its time. */
const LEVEL = 3;

export function encodeImage(users: readonly UserState[]): Buffer {
  let base = Number.POSITIVE_INFINITY;
  for (const user of users) for (const s of user.sessions) if (s.start < base) base = s.start;
  if (base === Number.POSITIVE_INFINITY) base = 0;
  const u: UserTuple[] = new Array(users.length);
  for (let i = 0; i < users.length; i++) {
    const user = users[i] as UserState;
    const sessions: SessionTuple[] = new Array(user.sessions.length);
    for (let j = 0; j < user.sessions.length; j++) {
      const s = user.sessions[j] as Session;
      const tuple = [s.start - base, s.end - s.start, s.last - s.start, s.count, s.pending ? 1 : 0];
      for (const emitted of s.emittedStarts) tuple.push(emitted - base);
      sessions[j] = tuple;
    }
    u[i] = [user.userId, sessions];
  }
  const image: Image = { f: IMAGE_FORMAT, b: base, u };
  return deflateRawSync(JSON.stringify(image), { level: LEVEL });
}

export function decodeImage(bytes: Buffer, what: string): UserState[] {
  let image: Image;
  try {
    image = JSON.parse(inflateRawSync(bytes).toString('utf8')) as Image;
  } catch (error) {
    throw new CheckpointCorruptError(`${what} is not a readable state image`, error);
  }
  if (image.f !== IMAGE_FORMAT || !Array.isArray(image.u)) {
    throw new CheckpointCorruptError(`${what} has image format ${String(image.f)}, expected ${IMAGE_FORMAT}`);
  }
  const base = image.b;
  return image.u.map(([userId, tuples]) => ({
    userId,
    sessions: tuples.map((t): Session => {
      const start = (t[0] as number) + base;
      return {
        start,
        end: start + (t[1] as number),
        last: start + (t[2] as number),
        count: t[3] as number,
        pending: t[4] === 1,
        emittedStarts: t.length > 5 ? t.slice(5).map((e) => e + base) : [],
      };
    }),
  }));
}

/** Cuts an image into items of at most PIECE_BYTES, well under DynamoDB's 400 KB per item. */
export function toPieces(image: Buffer): Buffer[] {
  const pieces: Buffer[] = [];
  for (let at = 0; at < image.length; at += PIECE_BYTES) pieces.push(image.subarray(at, at + PIECE_BYTES));
  return pieces;
}

/**
 * The partition's users after applying images in order (a snapshot, then the deltas since): a later
 * image's user replaces the earlier one's; a tombstone removes it.
 */
export function applyImages(images: readonly (readonly UserState[])[]): Map<string, UserState> {
  const users = new Map<string, UserState>();
  for (const image of images) {
    for (const user of image) {
      if (user.sessions.length === 0) users.delete(user.userId);
      else users.set(user.userId, user);
    }
  }
  return users;
}
