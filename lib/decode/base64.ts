/**
 * Standard padded base64 (RFC 4648 section 4, the alphabet and padding Lambda's Kafka events use)
 * decoded and checked in one pass, into slabs shared by the records of an event.
 *
 * `Buffer.from(text, 'base64')` calls into C++ and slices the pool for every field, and it never
 * fails (it skips what is not base64, and takes the URL-safe alphabet too), so the text had to be
 * checked by a loop of its own first: together 500-560 ns per field of 12-32 characters, a bench
 * record's key or value, against 155-230 ns for this one pass, writing into a slab of
 * SLAB_BYTES that the following records share, each field a view of it (docs/BENCHMARKS.md,
 * "The evening of 2026-12-03").
 */

/** Each character's 6 bits, -1 for a character outside the alphabet ("=" included). */
const SEXTET = new Int8Array(128).fill(-1);
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
for (let i = 0; i < ALPHABET.length; i++) SEXTET[ALPHABET.charCodeAt(i)] = i;
const PAD = 0x3d; // "="

/** Slab size: a few hundred records' keys and values; a larger field gets a slab of its own size. */
export const SLAB_BYTES = 64 * 1024;

/** Hands out views of slabs; one per event (or per batch), so slabs are dropped with its records. */
export class Base64Decoder {
  #slab: Buffer = Buffer.alloc(0);
  #used = 0;

  /**
   * The bytes of `text`, or undefined when it is not padded standard base64: a multiple of 4
   * characters of the alphabet, the last one or two of which may be "=". Bits past the last whole
   * byte are ignored, as Buffer.from does.
   */
  decode(text: string): Buffer | undefined {
    const n = text.length;
    if (n % 4 !== 0) return undefined;
    let pads = 0;
    if (n > 0 && text.charCodeAt(n - 1) === PAD) pads++;
    if (n > 1 && text.charCodeAt(n - 2) === PAD) pads++;
    const size = (n / 4) * 3 - pads;
    if (this.#used + size > this.#slab.length) {
      this.#slab = Buffer.allocUnsafeSlow(Math.max(SLAB_BYTES, size));
      this.#used = 0;
    }
    const out = this.#slab;
    const start = this.#used;
    let at = start;
    const whole = n - (pads > 0 ? 4 : 0);
    for (let i = 0; i < whole; i += 4) {
      const a = sextet(text.charCodeAt(i));
      const b = sextet(text.charCodeAt(i + 1));
      const c = sextet(text.charCodeAt(i + 2));
      const d = sextet(text.charCodeAt(i + 3));
      if ((a | b | c | d) < 0) return undefined;
      out[at++] = (a << 2) | (b >> 4);
      out[at++] = ((b & 15) << 4) | (c >> 2);
      out[at++] = ((c & 3) << 6) | d;
    }
    if (pads > 0) {
      const a = sextet(text.charCodeAt(whole));
      const b = sextet(text.charCodeAt(whole + 1));
      if ((a | b) < 0) return undefined;
      out[at++] = (a << 2) | (b >> 4);
      if (pads === 1) {
        const c = sextet(text.charCodeAt(whole + 2));
        if (c < 0) return undefined;
        out[at++] = ((b & 15) << 4) | (c >> 2);
      }
    }
    this.#used = at;
    return out.subarray(start, at);
  }
}

function sextet(code: number): number {
  return code < 128 ? (SEXTET[code] as number) : -1;
}
