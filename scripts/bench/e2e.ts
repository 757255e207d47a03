/**
 * Tier 3 from the parent's side: a topic of its own, the job (e2e-pipeline.ts) started and
 * reading, then the producer (e2e-producer.ts); the run ends when PostgreSQL holds every row the
 * engine says the stream closes, which are then compared one by one. In 'drain' mode the producer
 * runs first and the job starts on a topic that already holds every event (a backlog to drain). Latency per session: from the
 * send of the record that moved its partition's watermark past the session's end to the commit of
 * the sink transaction that wrote its row.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { startChild } from './children.ts';
import type { ConsumeResult } from './consume-floor.ts';
import type { PipelineResult } from './e2e-pipeline.ts';
import type { ProducerResult } from './e2e-producer.ts';
import type { ProgressLine } from './progress.ts';
import { expectedRows, loadStream, WatermarkSteps } from './stream.ts';
import { compareRows, schemaUrl, settings, writtenRows } from './workspace.ts';

export interface E2eOptions {
  readonly name: string;
  readonly mode: 'full' | 'paced' | 'drain';
  readonly events: number;
  readonly users: number;
  readonly partitions: number;
  readonly seed: number;
  readonly rate: number;
  readonly seconds: number;
  readonly batchSize: number;
  readonly windowMs: number;
  /** Also measure kafkajs consume-only on the same topic afterwards. */
  readonly consumeFloor: boolean;
}

export interface Latency {
  readonly sessions: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export interface E2eResult {
  readonly options: E2eOptions;
  readonly events: number;
  readonly rows: number;
  /** First send to the last row visible (drain: first invocation to the last row visible). */
  readonly seconds: number;
  readonly produceSeconds: number;
  readonly pipeline: PipelineResult;
  readonly latency: Latency;
  readonly floor: ConsumeResult | null;
}

const kafka = new Kafka({ clientId: 'bench', brokers: settings.kafkaBrokers, logLevel: logLevel.NOTHING });

export async function runE2e(options: E2eOptions, ui: ProgressLine): Promise<E2eResult> {
  const stamp = `${options.name}_${Date.now().toString(36)}`;
  const topic = `bench_${stamp}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: options.partitions }] });
  const dir = await mkdtemp(join(tmpdir(), 'sessionizer-bench-'));
  const expectedEvents =
    options.mode === 'paced' ? Math.round(options.rate * options.seconds) : options.events;
  try {
    let processed = 0;
    const produce = () =>
      startChild<ProducerResult>(
        'e2e-producer.ts',
        {
          ...options,
          mode: options.mode === 'drain' ? 'full' : options.mode,
          topic,
          file: join(dir, 'stream.bin'),
        },
        (p) => ui.update(p),
      ).result;
    const backlog = options.mode === 'drain' ? await produce() : undefined;
    const pipeline = startChild<PipelineResult>(
      'e2e-pipeline.ts',
      {
        name: `e2e_${options.name}`,
        topic,
        group: `bench_${stamp}`,
        batchSize: options.batchSize,
        windowMs: options.windowMs,
        expectedEvents,
        samplesFile: join(dir, 'samples.bin'),
      },
      (p) => {
        processed = p.done;
        ui.update(p);
      },
    );
    const { schema } = await pipeline.ready;
    if (schema === undefined) throw new Error('the pipeline process named no schema');
    const produced = backlog ?? (await produce());
    const stream = await loadStream(join(dir, 'stream.bin'));
    const expected = expectedRows(stream, options.partitions);

    // An invocation reports its records only after its sink transaction committed, so once every
    // record is reported, every row is in PostgreSQL.
    await waitUntil(() => processed >= stream.user.length, pipeline.result, 'the job to read every record');
    const pool = new pg.Pool({ connectionString: schemaUrl(schema), max: 1 });
    try {
      const problems = compareRows(await writtenRows(pool), expected);
      if (problems.length > 0) throw new Error(`e2e ${options.name}: ${problems.join('; ')}`);
    } finally {
      await pool.end();
    }
    pipeline.send({ type: 'finish' });
    const job = await pipeline.result;
    const bytes = await readFile(join(dir, 'samples.bin'));
    const latency = latencies(
      // A copy: a small file's Buffer may sit in Node's shared pool at some offset.
      new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)),
      new WatermarkSteps(stream, options.partitions),
    );
    const floor = options.consumeFloor
      ? await startChild<ConsumeResult>(
          'consume-floor.ts',
          { topic, group: `bench_floor_${stamp}`, events: stream.user.length, windowMs: options.windowMs },
          (p) => ui.update(p),
        ).result
      : null;
    return {
      options,
      events: stream.user.length,
      rows: expected.size,
      seconds:
        (job.lastCommitAt - (options.mode === 'drain' ? job.firstInvokeAt : produced.firstSendAt)) / 1000,
      produceSeconds: (produced.lastAckAt - produced.firstSendAt) / 1000,
      pipeline: job,
      latency,
      floor,
    };
  } finally {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Waits for `done()`, failing when the job died or after 10 minutes. */
async function waitUntil(done: () => boolean, died: Promise<unknown>, what: string): Promise<void> {
  let dead: unknown;
  died.catch((error) => {
    dead = error;
  });
  const deadline = Date.now() + 600_000;
  while (!done()) {
    if (dead !== undefined) throw dead;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function latencies(samples: Float64Array, steps: WatermarkSteps): Latency {
  const values: number[] = [];
  for (let i = 0; i + 2 < samples.length; i += 3) {
    const passedAt = steps.passedAt(samples[i] as number, samples[i + 1] as number);
    if (passedAt !== undefined) values.push((samples[i + 2] as number) - passedAt);
  }
  values.sort((a, b) => a - b);
  const at = (q: number) => values[Math.min(values.length - 1, Math.floor(q * values.length))] ?? Number.NaN;
  return { sessions: values.length, p50: at(0.5), p99: at(0.99), max: values.at(-1) ?? Number.NaN };
}
