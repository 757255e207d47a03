import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// `npm run bench` itself, at toy sizes, so the benchmark cannot rot between the runs that matter.
// Its numbers are not checked (timings do not belong in tests); what it reports and checks is.
describe('npm run bench', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs every tier and prints the summary table', async () => {
    // Prepare
    const json = join(dir, 'bench.json');
    const args = [
      '--import',
      'tsx',
      'scripts/bench/index.ts',
      '--engine-events',
      '20000',
      '--users',
      '300',
      '--handler-events',
      '100:300,1000:3000',
      '--events',
      '6000',
      '--reload-users',
      '3000',
      '--tick-users',
      '25000',
      '--paced-rates',
      '60',
      '--paced-seconds',
      '8',
      '--drain-rounds',
      '2',
      '--nexmark-events',
      '20000',
      '--nexmark-rate',
      '500',
      '--json',
      json,
    ];

    // Act
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));

    // Assess
    expect(code, stderr).toBe(0);
    expect(stderr).toMatch(/\[bench \d\d:\d\d\] .*\(100%\)/);
    for (const row of [
      '| engine | one fold |',
      '| handler | batch 100, warm |',
      '| handler | batch 1,000, warm |',
      '| handler | batch 1,000, cold |',
      '| end-to-end | produced while read',
      '| flink | produced while read, local mode, parallelism 1, 3 partitions |',
      '| end-to-end | drain (all in Kafka first), batch 10,000, 3 partitions, median of 2 rounds |',
      '| flink | drain (all in Kafka first), median of 2 rounds, local mode, parallelism 1, 3 partitions |',
      '| tick | one idle tick fires 25,000 sessions, one transaction |',
      '| nexmark | query 11, bids of 20,000 events, drain, batch 10,000, 3 partitions |',
    ]) {
      expect(stdout).toContain(row);
    }
    expect(stdout).toContain('kafkajs consume-only');
    expect(stdout).toContain('bare unnest upserts');
    expect(stdout).toMatch(/\| the reference Flink job, drain, same stream, same run \| [\d,]+ events\/s/);
    expect(stdout).toMatch(
      /\| end to end, drain >= 1.5 x the reference Flink job's drain \(same stream, same run\) \| [\d,]+ events\/s = [\d.]+ x Flink's [\d,]+; median of 2 rounds \([\d.]+ x, [\d.]+ x\) \|/,
    );
    expect(stdout).toMatch(/\| DynamoDB write units per 1,000 events at batch 1,000 <= 60 \| [\d.]+ /);
    expect(stdout).toMatch(
      /\| a cold container reloads a partition of 3,000 live users in under 2,000 ms \(heap limit [\d,]+ MB;[^|]*\| [\d,]+ ms \(DynamoDB [\d,]+ ms\), [\d,]+ read units \|/,
    );
    expect(stdout).toMatch(
      /\| memory per live session at rest, after a full GC \(V8 heap \+ typed arrays\) \| [\d,]+ bytes/,
    );
    const result = JSON.parse(readFileSync(json, 'utf8'));
    expect(result.e2e.full.rows).toBeGreaterThan(100);
    expect(result.e2e.full.pipeline.records).toBe(6000);
    expect(result.e2e.drain.pipeline.records).toBe(6000);
    // Two rounds of the drain (the job first, then Flink first); the reported run is one of them.
    expect(result.e2e.drain.rounds.job).toHaveLength(2);
    expect(result.e2e.drain.rounds.flink).toHaveLength(2);
    expect(result.e2e.drain.rounds.job).toContain(result.e2e.drain.seconds);
    expect(result.e2e.drain.rounds.flink).toContain(result.e2e.drain.flink.seconds);
    expect(result.e2e.full.rounds.job).toEqual([result.e2e.full.seconds]);
    // Both clocks measure the same rows: from the broker's ack (the targets) and from the send call.
    expect(result.e2e.paced[0].latency.fromAck.sessions).toBeGreaterThan(0);
    expect(result.e2e.paced[0].latency.fromSend.sessions).toBe(result.e2e.paced[0].latency.fromAck.sessions);
    expect(result.reload.liveSessions).toBe(3000);
    expect(result.reload.cold.readUnits).toBeGreaterThan(result.reload.warm.readUnits);
    expect(result.handler.map((h: { memory: string }) => h.memory)).toEqual(['warm', 'warm', 'cold', 'cold']);
    // Flink's rows are the job's plus the sessions its end of input fires (checked row by row).
    expect(result.e2e.drain.flink.rows).toBe(result.e2e.drain.rows + result.e2e.drain.flink.endOfInputRows);
    expect(result.e2e.full.flink.events).toBe(6000);
    // 25,000 sessions in one transaction: BEGIN, 3 statements of at most 10,000, COMMIT.
    expect(result.tick).toMatchObject({ sessions: 25_000, chunks: 3, statements: 5 });
    // 46 bids in every 50 events, 40 s of event time at 500 events/s: some sessions close.
    expect(result.nexmark).toMatchObject({ bids: 18_400, pipeline: { records: 18_400 } });
    expect(result.nexmark.rows).toBeGreaterThan(0);
    expect(stdout).toMatch(
      /\| Nexmark query 11 \(user sessions, 10 s gap\): Flink 1\.13's published throughput per core \| 39,700 events\/s per core \(not a target\) \| the job, end to end .* [\d,]+ per CPU second of the job's own process \|/,
    );
  }, 300_000);
});
