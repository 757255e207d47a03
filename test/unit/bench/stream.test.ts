import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fold, initialPartitionState } from '../../../lib/engine/index.ts';
import {
  BENCH_ENGINE,
  expectedRows,
  generate,
  loadStream,
  partitionRecords,
  saveStream,
  WatermarkSteps,
} from '../../../scripts/bench/stream.ts';

describe('the benchmark stream', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-stream-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is the same for the same seed, and another for another seed', () => {
    // Act
    const a = generate({ events: 1000, users: 50, partitions: 3, seed: 7 });
    const b = generate({ events: 1000, users: 50, partitions: 3, seed: 7 });
    const c = generate({ events: 1000, users: 50, partitions: 3, seed: 8 });

    // Assess
    expect(b.eventTime).toEqual(a.eventTime);
    expect(b.user).toEqual(a.user);
    expect(c.user).not.toEqual(a.user);
  });

  it('keeps disorder within B (no event is late) and still closes sessions', () => {
    // Prepare
    const stream = generate({ events: 20_000, users: 100, partitions: 1, seed: 3 });
    const records = partitionRecords(stream, 0);

    // Act
    const result = fold({
      config: BENCH_ENGINE,
      partition: initialPartitionState(),
      users: new Map(),
      records,
      endOffset: records.length,
    });

    // Assess: out of order, never late, and sessions both join and split.
    const outOfOrder = records.some((r, i) => i > 0 && r.eventTime < (records[i - 1]?.eventTime ?? 0));
    expect(outOfOrder).toBe(true);
    expect(result.late).toEqual([]);
    expect(result.emitted.length).toBeGreaterThan(1000);
    expect(result.emitted.some((s) => s.count > 1)).toBe(true);
  });

  it('finds the record whose watermark first passed a session end, as a scan does, on either clock', () => {
    // Prepare
    const stream = generate({ events: 3000, users: 20, partitions: 2, seed: 5 });
    stream.sentAt.forEach((_, i) => {
      stream.sentAt[i] = 1_000_000 + i;
      stream.ackedAt[i] = 2_000_000 + i;
    });
    const steps = new WatermarkSteps(stream, 2, 'sentAt');
    const acked = new WatermarkSteps(stream, 2, 'ackedAt');
    const scan = (partition: number, end: number): number | undefined => {
      let w = Number.NEGATIVE_INFINITY;
      for (let i = 0; i < stream.user.length; i++) {
        if (stream.partition[i] !== partition) continue;
        w = Math.max(w, (stream.eventTime[i] as number) - BENCH_ENGINE.outOfOrdernessMs - 1);
        if (w >= end - 1) return stream.sentAt[i];
      }
      return undefined;
    };

    // Act / Assess: every emitted session, and an end no record reaches.
    const rows = expectedRows(stream, 2);
    expect(rows.size).toBeGreaterThan(50);
    for (const p of [0, 1]) {
      for (const r of partitionRecords(stream, p).filter((_, i) => i % 37 === 0)) {
        const end = r.eventTime + BENCH_ENGINE.gapMs;
        const sent = scan(p, end);
        expect(steps.passedAt(p, end), `partition ${p}, end ${end}`).toBe(sent);
        expect(acked.passedAt(p, end), `partition ${p}, end ${end}`).toBe(
          sent === undefined ? undefined : sent + 1_000_000,
        );
      }
    }
    expect(steps.passedAt(0, Number.MAX_SAFE_INTEGER)).toBeUndefined();
  });

  it('round-trips through a file', async () => {
    // Prepare
    const stream = generate({ events: 777, users: 9, partitions: 3, seed: 1 });
    stream.sentAt.fill(123.5);
    stream.ackedAt.fill(456.25);
    const file = join(dir, 'stream.bin');

    // Act
    await saveStream(file, stream);
    const loaded = await loadStream(file);

    // Assess
    expect(loaded).toEqual(stream);
  });
});
