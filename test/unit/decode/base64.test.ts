import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Base64Decoder, SLAB_BYTES } from '../../../lib/decode/index.ts';

/** What decode replaced: a check of the alphabet and padding, then Buffer.from. */
function reference(text: string): Buffer | undefined {
  return /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)
    ? Buffer.from(text, 'base64')
    : undefined;
}

const BASE64ISH = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ \n.é'];

describe('Base64Decoder', () => {
  it('decodes what Buffer.from decodes, byte for byte, and keeps earlier views intact', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 40 }), (fields) => {
        // Arrange
        const decoder = new Base64Decoder();
        const texts = fields.map((bytes) => Buffer.from(bytes).toString('base64'));

        // Act
        const decoded = texts.map((text) => decoder.decode(text));

        // Assess: all at the end, so a later field never overwrote an earlier one's bytes
        expect(decoded.map((b) => (b === undefined ? undefined : [...b]))).toEqual(fields.map((f) => [...f]));
      }),
    );
  });

  it('refuses exactly what is not padded standard base64', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...BASE64ISH), { maxLength: 16 }), (chars) => {
        // Arrange
        const text = chars.join('');

        // Act
        const bytes = new Base64Decoder().decode(text);

        // Assess
        const expected = reference(text);
        expect(bytes === undefined).toBe(expected === undefined);
        if (bytes !== undefined) expect([...bytes]).toEqual([...(expected as Buffer)]);
      }),
      { numRuns: 2000 },
    );
  });

  it('ignores the bits past the last whole byte, as Buffer.from does', () => {
    // Arrange, Act, Assess: "QR==" and "QQ==" both name 0x41 plus leftover bits
    for (const text of ['QR==', 'QUJ=', 'QUK=', '', 'AAAA']) {
      expect([...(new Base64Decoder().decode(text) as Buffer)]).toEqual([...Buffer.from(text, 'base64')]);
    }
  });

  it('gives a field larger than a slab a slab of its own', () => {
    // Arrange
    const decoder = new Base64Decoder();
    const small = Buffer.from('small').toString('base64');
    const big = Buffer.alloc(SLAB_BYTES + 7, 0xab);

    // Act
    const first = decoder.decode(small);
    const large = decoder.decode(big.toString('base64'));
    const after = decoder.decode(small);

    // Assess
    expect(first?.toString()).toBe('small');
    expect(large?.equals(big)).toBe(true);
    expect(after?.toString()).toBe('small');
    expect(first?.toString()).toBe('small');
  });
});
