import { inflateRawSync } from 'node:zlib';
import type { UserVisitor } from '../engine/index.ts';
import { CheckpointCorruptError } from '../errors.ts';
import { LEGACY_IMAGE_FORMAT } from './constants.ts';

/*
 * Image format 1, as release 0.1.0 and the layouts up to IMAGE_FORMAT 2 wrote it: one JSON text
 * (JSON.stringify of {f, b, u} in that order), deflated:
 *
 *   {"f": 1, "b": base, "u": [[userId, [[start - b, end - start, last - start, count, pending,
 *                                        ...emittedStarts - b], ...]], ...]}
 *
 * Read here so that a checkpoint written by those releases upgrades in place (its next snapshot is
 * written in format 2). The inflated text stays bytes (a Buffer, outside the V8 heap): it is never
 * made one string nor parsed whole; this scanner walks it and hands each user to the visitor, and
 * only an id with an escape goes through JSON.parse, alone.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const MINUS = 0x2d;

export function decodeLegacyImage(compressed: Buffer, visitor: UserVisitor, what: string): void {
  let text: Buffer;
  try {
    text = inflateRawSync(compressed);
  } catch (error) {
    throw new CheckpointCorruptError(`${what} is not a readable state image`, error);
  }
  new LegacyScanner(text, visitor, what).image();
}

class LegacyScanner {
  private at = 0;
  /** One user's session tuples, flat, reused from user to user. */
  private readonly numbers: number[] = [];
  private readonly tupleEnds: number[] = [];
  private readonly emitted: number[] = [];

  constructor(
    private readonly text: Buffer,
    private readonly visitor: UserVisitor,
    private readonly what: string,
  ) {}

  image(): void {
    let format: number | undefined;
    let base: number | undefined;
    this.expect(OPEN_OBJECT);
    for (let first = true; this.peek() !== CLOSE_OBJECT; first = false) {
      if (!first) this.expect(COMMA);
      const key = this.string();
      this.expect(COLON);
      if (key === 'f') format = this.number();
      else if (key === 'b') base = this.number();
      else if (key === 'u') {
        if (format !== LEGACY_IMAGE_FORMAT) {
          throw new CheckpointCorruptError(
            `${this.what} has image format ${String(format)}, expected ${LEGACY_IMAGE_FORMAT}`,
          );
        }
        if (base === undefined) this.corrupt('its users come before its base');
        this.users(base);
      } else this.corrupt(`unknown field "${key}"`);
    }
    this.expect(CLOSE_OBJECT);
    if (format !== LEGACY_IMAGE_FORMAT) {
      throw new CheckpointCorruptError(
        `${this.what} has image format ${String(format)}, expected ${LEGACY_IMAGE_FORMAT}`,
      );
    }
  }

  private users(base: number): void {
    const { numbers, tupleEnds, emitted, visitor } = this;
    this.expect(OPEN_ARRAY);
    for (let first = true; this.peek() !== CLOSE_ARRAY; first = false) {
      if (!first) this.expect(COMMA);
      this.expect(OPEN_ARRAY);
      const userId = this.string();
      this.expect(COMMA);
      numbers.length = 0;
      tupleEnds.length = 0;
      this.expect(OPEN_ARRAY);
      for (let firstTuple = true; this.peek() !== CLOSE_ARRAY; firstTuple = false) {
        if (!firstTuple) this.expect(COMMA);
        this.expect(OPEN_ARRAY);
        for (let firstNumber = true; this.peek() !== CLOSE_ARRAY; firstNumber = false) {
          if (!firstNumber) this.expect(COMMA);
          numbers.push(this.number());
        }
        this.expect(CLOSE_ARRAY);
        tupleEnds.push(numbers.length);
      }
      this.expect(CLOSE_ARRAY);
      this.expect(CLOSE_ARRAY);
      visitor.user(userId, tupleEnds.length);
      let from = 0;
      for (const to of tupleEnds) {
        if (to - from < 5) this.corrupt(`a session of ${userId} has ${to - from} fields`);
        const start = (numbers[from] as number) + base;
        emitted.length = 0;
        for (let i = from + 5; i < to; i++) emitted.push((numbers[i] as number) + base);
        visitor.session(
          start,
          start + (numbers[from + 1] as number),
          start + (numbers[from + 2] as number),
          numbers[from + 3] as number,
          numbers[from + 4] === 1,
          emitted,
        );
        from = to;
      }
    }
    this.expect(CLOSE_ARRAY);
  }

  /** A JSON number as JSON.stringify writes one (the image holds whole numbers). */
  private number(): number {
    const text = this.text;
    const from = this.at;
    let at = from;
    if (text[at] === MINUS) at++;
    let value = 0;
    let digits = 0;
    for (let c = text[at]; c !== undefined && c >= 0x30 && c <= 0x39; c = text[++at]) {
      value = value * 10 + (c - 0x30);
      digits++;
    }
    const c = text[at];
    if (digits === 0) return this.corrupt('a number is missing');
    // Fractions and exponents do not occur in an image; JSON.parse reads them exactly all the same.
    if (c === 0x2e || c === 0x65 || c === 0x45 || digits > 15) {
      while (at < text.length && ![COMMA, CLOSE_ARRAY, CLOSE_OBJECT].includes(text[at] as number)) at++;
      this.at = at;
      return JSON.parse(text.toString('latin1', from, at)) as number;
    }
    this.at = at;
    return text[from] === MINUS ? -value : value;
  }

  /** A JSON string: its bytes as UTF-8, or JSON.parse of that one token when it holds an escape. */
  private string(): string {
    const text = this.text;
    this.expect(QUOTE);
    const from = this.at;
    let escaped = false;
    let ascii = true;
    let at = from;
    for (;;) {
      const c = text[at];
      if (c === undefined) return this.corrupt('a string does not end');
      if (c === QUOTE) break;
      if (c === BACKSLASH) {
        escaped = true;
        at++;
      } else if (c >= 0x80) ascii = false;
      at++;
    }
    this.at = at + 1;
    if (escaped) return JSON.parse(text.toString('utf8', from - 1, at + 1)) as string;
    return text.toString(ascii ? 'latin1' : 'utf8', from, at);
  }

  private peek(): number | undefined {
    return this.text[this.at];
  }

  private expect(byte: number): void {
    if (this.text[this.at] !== byte)
      this.corrupt(`expected "${String.fromCharCode(byte)}" at byte ${this.at}`);
    this.at++;
  }

  private corrupt(why: string): never {
    throw new CheckpointCorruptError(`${this.what} is not a readable state image (format 1: ${why})`);
  }
}
