import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { Session, UserState, UserVisitor } from '../engine/index.ts';
import { CheckpointCorruptError } from '../errors.ts';
import { IMAGE_FORMAT, LEGACY_IMAGE_FORMAT, PIECE_BYTES } from './constants.ts';
import { decodeLegacyImage } from './legacy-image.ts';

/*
 * A state image: the users of a snapshot (every live user) or of a delta (the users one transition
 * changed; a user with no sessions is a tombstone), docs/STATE.md section 2. Encoded and decoded
 * user by user, frame by frame, piece by piece: neither side ever holds the image as one string or
 * one uncompressed buffer, and neither builds a plain copy of the users (the engine hands them over
 * field by field, UserVisitor), so a partition of millions of users costs its compressed size and
 * one frame on top of the engine's own memory.
 *
 * Format 2 (IMAGE_FORMAT), the bytes that are cut into pieces of at most PIECE_BYTES:
 *
 *   "SZI" 2, base (float64, little-endian: the image's first session start), then frames:
 *   length (uint32, little-endian), that many bytes of raw deflate of a block of whole user records
 *   (a block is closed after BLOCK_BYTES, so no record spans two frames).
 *
 *   user record: varint (id length * 2 + wide), the id (Latin-1 bytes, or UTF-16LE code units when
 *     wide: any JS string round-trips), varint sessions (0: a tombstone), the sessions oldest first;
 *   session: zigzag (start - previous start, the base for a user's first), zigzag (end - start),
 *     zigzag (last - start), varint count, flags (1 pending, 2 emitted starts follow), and then
 *     varint n and n x zigzag (emitted start - start).
 *
 * Varints are little-endian base 128 and hold any safe integer; times are relative, so most take
 * one to three bytes and deflate has little left to do. Format 1 (deflated JSON, release 0.1.0 and
 * the layouts before this one) is still read (legacy-image.ts): the manifest says which an image is.
 */

const MAGIC = Buffer.from('SZI\u0002', 'latin1');
const HEADER_BYTES = MAGIC.length + 8;
/** Raw bytes of a block before it is deflated into a frame: a frame is about 30 KB compressed. */
const BLOCK_BYTES = 128 * 1024;
/** Deflate level 3: within a few percent of the default's size at about half its time. */
const LEVEL = 3;
const FLAG_PENDING = 1;
const FLAG_EMITTED = 2;

/** An encoded image, ready to be written: its pieces (each at most PIECE_BYTES), in order. */
export interface EncodedImage {
  readonly format: number;
  readonly pieces: readonly Buffer[];
  /** Compressed bytes, all pieces together. */
  readonly bytes: number;
}

/** An image as the store read it back: its pieces in order, and the format its manifest entry names. */
export interface StoredImage {
  readonly format: number;
  readonly pieces: readonly Uint8Array[];
}

/** Writes user records into raw blocks, deflates each into a frame, and cuts the frames into pieces. */
export class ImageEncoder implements UserVisitor {
  private block = Buffer.allocUnsafe(BLOCK_BYTES);
  private at = 0;
  private base = Number.NaN;
  private previousStart = 0;
  /** Compressed output (header, frame lengths, frames) in order, cut into pieces by finish. */
  private readonly chunks: Buffer[] = [];
  private bytes = 0;

  user(userId: string, sessions: number): void {
    if (this.at >= BLOCK_BYTES) this.flush();
    this.reserve(20 + 2 * userId.length);
    let wide = false;
    for (let i = 0; i < userId.length; i++) {
      if (userId.charCodeAt(i) > 0xff) {
        wide = true;
        break;
      }
    }
    this.varint(userId.length * 2 + (wide ? 1 : 0));
    this.at += this.block.write(userId, this.at, wide ? 'utf16le' : 'latin1');
    this.varint(sessions);
    this.previousStart = Number.isNaN(this.base) ? 0 : this.base;
  }

  session(
    start: number,
    end: number,
    last: number,
    count: number,
    pending: boolean,
    emittedStarts: readonly number[],
  ): void {
    if (Number.isNaN(this.base)) {
      this.base = start;
      this.previousStart = start;
    }
    this.reserve(50 + 10 * emittedStarts.length);
    this.zigzag(start - this.previousStart);
    this.previousStart = start;
    this.zigzag(end - start);
    this.zigzag(last - start);
    this.varint(count);
    const emitted = emittedStarts.length > 0;
    this.block[this.at++] = (pending ? FLAG_PENDING : 0) | (emitted ? FLAG_EMITTED : 0);
    if (emitted) {
      this.varint(emittedStarts.length);
      for (const e of emittedStarts) this.zigzag(e - start);
    }
  }

  /** The image, in pieces of at most PIECE_BYTES. */
  finish(): EncodedImage {
    this.flush();
    const header = Buffer.allocUnsafe(HEADER_BYTES);
    MAGIC.copy(header, 0);
    header.writeDoubleLE(Number.isNaN(this.base) ? 0 : this.base, MAGIC.length);
    const chunks = [header, ...this.chunks];
    const bytes = this.bytes + HEADER_BYTES;
    return { format: IMAGE_FORMAT, pieces: cut(chunks, bytes), bytes };
  }

  private flush(): void {
    if (this.at === 0) return;
    const frame = deflateRawSync(this.block.subarray(0, this.at), { level: LEVEL });
    const length = Buffer.allocUnsafe(4);
    length.writeUInt32LE(frame.length, 0);
    this.chunks.push(length, frame);
    this.bytes += 4 + frame.length;
    this.at = 0;
  }

  /** Room for `n` more bytes in the block (a record never spans blocks, so a big user grows it). */
  private reserve(n: number): void {
    if (this.at + n <= this.block.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(2 * this.block.length, this.at + n));
    this.block.copy(bigger, 0, 0, this.at);
    this.block = bigger;
  }

  private varint(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`a state image cannot hold ${value}: not a whole number from 0 to 2^53`);
    }
    const block = this.block;
    let v = value;
    let at = this.at;
    while (v >= 0x80) {
      block[at++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    block[at++] = v;
    this.at = at;
  }

  private zigzag(value: number): void {
    this.varint(value >= 0 ? 2 * value : -2 * value - 1);
  }
}

/** Cuts the compressed chunks (`bytes` in all) into pieces of at most PIECE_BYTES, copying each byte once. */
function cut(chunks: readonly Buffer[], bytes: number): Buffer[] {
  const pieces: Buffer[] = [];
  let chunk = 0;
  let offset = 0;
  for (let from = 0; from < bytes; from += PIECE_BYTES) {
    const size = Math.min(PIECE_BYTES, bytes - from);
    const piece = Buffer.allocUnsafe(size);
    let filled = 0;
    while (filled < size) {
      const source = chunks[chunk] as Buffer;
      const n = Math.min(size - filled, source.length - offset);
      source.copy(piece, filled, offset, offset + n);
      filled += n;
      offset += n;
      if (offset === source.length) {
        chunk++;
        offset = 0;
      }
    }
    pieces.push(piece);
  }
  return pieces;
}

/** Users given as plain data (a delta: the users one transition changed), encoded. */
export function encodeImage(users: Iterable<UserState>): EncodedImage {
  const encoder = new ImageEncoder();
  visitStates(users, encoder);
  return encoder.finish();
}

/** Users handed over field by field (the engine's visitUsers: a snapshot), encoded. */
export function encodeUsers(visit: (visitor: UserVisitor) => void): EncodedImage {
  const encoder = new ImageEncoder();
  visit(encoder);
  return encoder.finish();
}

/** Plain users handed to a visitor. */
export function visitStates(users: Iterable<UserState>, visitor: UserVisitor): void {
  for (const user of users) {
    visitor.user(user.userId, user.sessions.length);
    for (const s of user.sessions)
      visitor.session(s.start, s.end, s.last, s.count, s.pending, s.emittedStarts);
  }
}

/**
 * Hands every user of an image to `visitor`, in the image's order, frame by frame: the pieces are
 * read where they lie (a frame split between two pieces is copied once). `what` names the image in
 * errors.
 */
export function decodeImage(image: StoredImage, visitor: UserVisitor, what: string): void {
  if (image.format === LEGACY_IMAGE_FORMAT) {
    decodeLegacyImage(Buffer.concat(image.pieces), visitor, what);
    return;
  }
  if (image.format !== IMAGE_FORMAT) {
    throw new CheckpointCorruptError(
      `${what} has image format ${image.format}; this version reads ${LEGACY_IMAGE_FORMAT} and ${IMAGE_FORMAT}`,
    );
  }
  const reader = new PieceReader(image.pieces, what);
  const header = reader.take(HEADER_BYTES);
  if (header === null || !header.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new CheckpointCorruptError(
      `${what} is not a readable state image (no format ${IMAGE_FORMAT} header)`,
    );
  }
  const records = new RecordReader(header.readDoubleLE(MAGIC.length), visitor, what);
  for (;;) {
    const length = reader.take(4);
    if (length === null) return;
    const frame = reader.take(length.readUInt32LE(0));
    if (frame === null) throw new CheckpointCorruptError(`${what} ends within a frame`);
    let raw: Buffer;
    try {
      raw = inflateRawSync(frame);
    } catch (error) {
      throw new CheckpointCorruptError(`${what} has a frame that does not inflate`, error);
    }
    records.read(raw);
  }
}

/** An image's users as plain data (tests, and tools that look into a checkpoint). */
export function readImageUsers(images: readonly StoredImage[], what: string): UserState[] {
  const users = new Map<string, UserState>();
  let current: Session[] = [];
  const visitor: UserVisitor = {
    user(userId, sessions) {
      current = [];
      // A later image's user replaces the earlier one's (keeping its place); a tombstone removes it.
      if (sessions === 0) users.delete(userId);
      else users.set(userId, { userId, sessions: current });
    },
    session(start, end, last, count, pending, emittedStarts) {
      current.push({ start, end, last, count, pending, emittedStarts: [...emittedStarts] });
    },
  };
  for (const image of images) decodeImage(image, visitor, what);
  return [...users.values()];
}

/** Reads consecutive byte ranges across pieces: a subarray when a range lies in one piece, else a copy. */
class PieceReader {
  private piece = 0;
  private offset = 0;

  constructor(
    private readonly pieces: readonly Uint8Array[],
    private readonly what: string,
  ) {}

  /** The next `n` bytes; null at the very end of the image. */
  take(n: number): Buffer | null {
    while (
      this.piece < this.pieces.length &&
      this.offset === (this.pieces[this.piece] as Uint8Array).length
    ) {
      this.piece++;
      this.offset = 0;
    }
    if (this.piece === this.pieces.length) return null;
    const first = this.pieces[this.piece] as Uint8Array;
    if (this.offset + n <= first.length) {
      const range = Buffer.from(first.buffer, first.byteOffset + this.offset, n);
      this.offset += n;
      return range;
    }
    const copy = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const piece = this.pieces[this.piece];
      if (piece === undefined) throw new CheckpointCorruptError(`${this.what} ends within a frame`);
      const m = Math.min(n - filled, piece.length - this.offset);
      copy.set(piece.subarray(this.offset, this.offset + m), filled);
      filled += m;
      this.offset += m;
      if (this.offset === piece.length) {
        this.piece++;
        this.offset = 0;
      }
    }
    return copy;
  }
}

/** Parses the user records of raw blocks into visitor calls. */
class RecordReader {
  private raw: Buffer = Buffer.alloc(0);
  private at = 0;
  /** Reused for each session's emitted starts: visitors copy what they keep. */
  private readonly emitted: number[] = [];

  constructor(
    private readonly base: number,
    private readonly visitor: UserVisitor,
    private readonly what: string,
  ) {}

  read(raw: Buffer): void {
    this.raw = raw;
    this.at = 0;
    const { visitor, emitted } = this;
    while (this.at < raw.length) {
      const idField = this.varint();
      const length = Math.floor(idField / 2);
      const wide = idField % 2 === 1;
      const bytes = wide ? 2 * length : length;
      if (this.at + bytes > raw.length) this.corrupt();
      const userId = raw.toString(wide ? 'utf16le' : 'latin1', this.at, this.at + bytes);
      this.at += bytes;
      const sessions = this.varint();
      visitor.user(userId, sessions);
      let previous = this.base;
      for (let i = 0; i < sessions; i++) {
        const start = previous + this.zigzag();
        previous = start;
        const end = start + this.zigzag();
        const last = start + this.zigzag();
        const count = this.varint();
        if (this.at >= raw.length) this.corrupt();
        const flags = raw[this.at++] as number;
        emitted.length = 0;
        if (flags & FLAG_EMITTED) {
          const n = this.varint();
          for (let j = 0; j < n; j++) emitted.push(start + this.zigzag());
        }
        visitor.session(start, end, last, count, (flags & FLAG_PENDING) !== 0, emitted);
      }
    }
  }

  private varint(): number {
    const raw = this.raw;
    let b = raw[this.at++];
    if (b === undefined) return this.corrupt();
    if (b < 0x80) return b;
    let value = b & 0x7f;
    let scale = 0x80;
    do {
      b = raw[this.at++];
      if (b === undefined || scale > 2 ** 49) return this.corrupt();
      value += (b & 0x7f) * scale;
      scale *= 0x80;
    } while (b >= 0x80);
    return value;
  }

  private zigzag(): number {
    const z = this.varint();
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }

  private corrupt(): never {
    throw new CheckpointCorruptError(`${this.what} has a malformed user record`);
  }
}
