import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

/**
 * patches/kafkajs+2.2.4.patch (applied by `npm ci`'s postinstall): kafkajs decodes a record's
 * offset and timestamp with Number arithmetic while they are exact (below 2^53), and with its
 * BigInt Long otherwise; its Batch keeps the messages at or after the fetched offset the same way.
 * Held here against the exact BigInt answer, over the whole int64 range, through kafkajs's own
 * encoder and decoder.
 */
const require = createRequire(import.meta.url);
type Encoded = { buffer: Buffer };
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as {
  RecordBatch: (batch: object) => Promise<Encoded>;
};
const Record = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (record: object) => Encoded;
const decodeRecordBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder.js') as (
  decoder: unknown,
) => Promise<{
  firstOffsetNumber?: number;
  records: { offset: string; timestamp: string; key: Buffer | null; value: Buffer | null; headers: object }[];
}>;
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (buffer: Buffer) => unknown;
const Batch = require('kafkajs/src/consumer/batch.js') as new (
  topic: string,
  fetchedOffset: string,
  partitionData: object,
) => { messages: { offset: string }[] };
const Long = require('kafkajs/src/utils/long.js') as { fromValue(value: bigint): unknown };

const INT64_MAX = 2n ** 63n - 1n;
const SAFE = BigInt(Number.MAX_SAFE_INTEGER);
/** Values around the edges that matter: small, near 2^53 on either side, and up to int64's end. */
const int64Near = (edges: bigint[]) =>
  fc.oneof(
    fc.bigInt({ min: 0n, max: 2n ** 45n }),
    fc.constantFrom(...edges).chain((e) => fc.bigInt({ min: e - 1000n, max: e + 1000n })),
    fc.bigInt({ min: 0n, max: INT64_MAX - 2n ** 50n }),
  );

describe("kafkajs's record offsets and timestamps, patched to Number arithmetic where it is exact", () => {
  it('decodes every offset and timestamp as the BigInt sum would, over the whole int64 range', async () => {
    const bytes = fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a));
    const record = fc.record({
      timestampDelta: fc.bigInt({ min: -(2n ** 49n), max: 2n ** 49n }),
      key: fc.option(bytes, { nil: null }),
      value: fc.option(bytes, { nil: null }),
      headers: fc.dictionary(fc.string({ maxLength: 5 }), bytes, { maxKeys: 2 }),
    });
    await fc.assert(
      fc.asyncProperty(
        int64Near([SAFE]),
        fc.oneof(fc.constant(-1n), int64Near([SAFE, 2n ** 48n])),
        fc.array(record, { minLength: 1, maxLength: 5 }),
        async (firstOffset, firstTimestamp, wanted) => {
          // Prepare: kafkajs's own encoder writes the batch.
          const records = wanted.map((r, offsetDelta) =>
            Record({ ...r, offsetDelta, timestampDelta: Long.fromValue(r.timestampDelta) }),
          );
          const encoded = await RecordBatch({
            firstOffset: Long.fromValue(firstOffset),
            firstTimestamp: Long.fromValue(firstTimestamp),
            maxTimestamp: Long.fromValue(firstTimestamp),
            lastOffsetDelta: records.length - 1,
            records,
          });

          // Act
          const batch = await decodeRecordBatch(new Decoder(encoded.buffer));

          // Assess: each record's offset and timestamp, and its key, value and headers as they went in.
          expect(batch.records.map((r) => [r.offset, r.timestamp, r.key, r.value, { ...r.headers }])).toEqual(
            wanted.map((r, i) => [
              String(firstOffset + BigInt(i)),
              String(firstTimestamp + r.timestampDelta),
              r.key,
              r.value,
              r.headers,
            ]),
          );
        },
      ),
    );
  });

  it("keeps a fetch's messages at or after the fetched offset, as the BigInt comparison would", () => {
    fc.assert(
      fc.property(int64Near([SAFE]), fc.array(int64Near([SAFE]), { maxLength: 6 }), (fetched, offsets) => {
        // Act
        const messages = offsets.map((o) => ({ offset: String(o) }));
        const batch = new Batch('t', String(fetched), { partition: 0, messages, abortedTransactions: [] });

        // Assess
        expect(batch.messages.map((m) => m.offset)).toEqual(offsets.filter((o) => o >= fetched).map(String));
      }),
    );
  });

  it('is applied (npm ci runs patch-package as its postinstall)', async () => {
    const record = Record({ offsetDelta: 0, timestampDelta: 0, key: null, value: null });
    const encoded = await RecordBatch({ firstOffset: Long.fromValue(7n), records: [record] });
    const batch = await decodeRecordBatch(new Decoder(encoded.buffer));
    expect(batch.firstOffsetNumber).toBe(7);
  });
});
