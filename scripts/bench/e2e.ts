/**
 * Tier 3 from the parent's side: a topic of its own, the job (e2e-pipeline.ts) started and
 * reading, then the producer (e2e-producer.ts); the run ends when PostgreSQL holds every row the
 * engine says the stream closes, which are then compared one by one. In 'drain' mode the producer
 * runs first and the job starts on a topic that already holds every event (a backlog to drain).
 * Latency per session: from the record that moved its partition's watermark past the session's end
 * (when the broker acknowledged it, and when it was handed to the producer: Latencies) to the
 * commit of the sink transaction that wrote its row.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { createTopicsAndWait } from '../services/kafka.ts';
import { startChild } from './children.ts';
import type { ConsumeResult } from './consume-floor.ts';
import type { PipelineResult } from './e2e-pipeline.ts';
import type { ProducerResult } from './e2e-producer.ts';
import { ensureFlinkJob, prepareFlinkSchema, startFlinkJob } from './flink.ts';
import type { ProgressLine } from './progress.ts';
import {
  BENCH_ENGINE,
  expectedRows,
  foldStream,
  generate,
  loadStream,
  partitionOf,
  type Stream,
  WatermarkSteps,
} from './stream.ts';
import { compareRows, dropSchema, schemaUrl, settings, settleDatabase, writtenRows } from './workspace.ts';

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
  /**
   * Also run the reference Flink job on the same stream (the flink tier), right after the job:
   * a drain reads the very same topic, a full-speed run a new topic the producer fills again.
   */
  readonly flink: boolean;
  /**
   * Drain only: how many times the job and then Flink drain the topic, one after the other (each
   * drain a new consumer group and new tables). A drain of 1M events takes seconds, about what a
   * neighbour's burst moves it by, so the result is the median round (default 1).
   */
  readonly rounds?: number;
}

export interface Latency {
  readonly sessions: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

/**
 * Watermark passed -> row visible, the watermark's moment on two clocks (WatermarkSteps): when the
 * record that moved it was in the topic (the broker's ack; the latency targets), and when the
 * producer was handed it (its client's batching and the round trip included).
 */
export interface Latencies {
  readonly fromAck: Latency;
  readonly fromSend: Latency;
}

export interface E2eResult {
  readonly options: E2eOptions;
  readonly events: number;
  readonly rows: number;
  /** First send to the last row visible (drain: first invocation to the last row visible). */
  readonly seconds: number;
  readonly produceSeconds: number;
  /** Last row visible minus the producer's last acknowledged send (negative: the drain's backlog). */
  readonly lastRowAfterLastSendMs: number;
  readonly pipeline: PipelineResult;
  readonly latency: Latencies;
  readonly floor: ConsumeResult | null;
  readonly flink: FlinkResult | null;
  /**
   * Each round's seconds, in order (one round but for a drain with `rounds`): the job's and
   * Flink's. `seconds`, `pipeline` and `latency` are the job's median round's, `flink` Flink's.
   */
  readonly rounds: { readonly job: readonly number[]; readonly flink: readonly number[] };
}

/** The reference Flink job on the same stream (docs/BENCHMARKS.md, "The flink tier"). */
export interface FlinkResult {
  readonly events: number;
  /** Rows it wrote: the sessions the watermarks closed, then those its end of input fired. */
  readonly rows: number;
  readonly endOfInputRows: number;
  /** As the job's: first send (drain: first record read) to the last row visible. */
  readonly seconds: number;
  readonly produceSeconds: number;
  /** Last row visible minus the producer's last acknowledged send (full speed only). */
  readonly lastRowAfterLastSendMs: number | null;
  /** Over the sessions the watermarks closed (the end of input's rows have no such moment). */
  readonly latency: Latencies;
  readonly peakRssMb: number;
}

const kafka = new Kafka({ clientId: 'bench', brokers: settings.kafkaBrokers, logLevel: logLevel.NOTHING });

export async function runE2e(options: E2eOptions, ui: ProgressLine): Promise<E2eResult> {
  const stamp = `${options.name}_${Date.now().toString(36)}`;
  const topic = `bench_${stamp}`;
  const admin = kafka.admin();
  await admin.connect();
  await createTopicsAndWait(admin, [{ topic, numPartitions: options.partitions }]);
  const dir = await mkdtemp(join(tmpdir(), 'sessionizer-bench-'));
  const expectedEvents =
    options.mode === 'paced' ? Math.round(options.rate * options.seconds) : options.events;
  try {
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
    // The rows the job must write, folded before it starts, as runFlink does for Flink: the
    // reference fold takes seconds of CPU, which it would otherwise take from the job it measures.
    // A paced stream's event times come from the producer's clock: folded once it is sent.
    const planned =
      options.mode === 'drain'
        ? await loadStream(join(dir, 'stream.bin'))
        : options.mode === 'full'
          ? generate(options)
          : undefined;
    const plannedRows = planned === undefined ? undefined : expectedRows(planned, options.partitions);
    let produced: ProducerResult | undefined = backlog;
    /** The job reads the topic (a new consumer group and new tables each round) until every row is in. */
    const runJob = async (round: number) => {
      let processed = 0;
      const suffix = round === 0 ? '' : `_r${round}`;
      const samplesFile = join(dir, `samples${suffix}.bin`);
      await settle(ui);
      const pipeline = startChild<PipelineResult>(
        'e2e-pipeline.ts',
        {
          name: `e2e_${options.name}${suffix}`,
          topic,
          group: `bench_${stamp}${suffix}`,
          batchSize: options.batchSize,
          windowMs: options.windowMs,
          partitions: options.partitions,
          expectedEvents,
          samplesFile,
          // The latency runs start warm, as a job that has been running; the drain, held against a
          // Flink job that starts cold, starts cold too.
          warmUpEvents: options.mode === 'drain' ? 0 : Math.min(WARM_UP_EVENTS, expectedEvents),
        },
        (p) => {
          processed = p.done;
          ui.update(p);
        },
      );
      const { schema } = await pipeline.ready;
      if (schema === undefined) throw new Error('the pipeline process named no schema');
      produced ??= await produce();

      // An invocation reports its records only after its sink transaction committed, so once every
      // record is reported, every row is in PostgreSQL.
      await waitUntil(() => processed >= expectedEvents, pipeline.result, 'the job to read every record');
      // The stream as sent (its send times, for the latencies), and the rows it closes.
      const stream =
        options.mode === 'drain' && planned !== undefined
          ? planned
          : await loadStream(join(dir, 'stream.bin'));
      if (planned !== undefined && !sameEvents(planned, stream)) {
        throw new Error(`e2e ${options.name}: the producer sent another stream than the seeded one`);
      }
      const expected = plannedRows ?? expectedRows(stream, options.partitions);
      const pool = new pg.Pool({ connectionString: schemaUrl(schema), max: 1 });
      try {
        const problems = compareRows(await writtenRows(pool), expected);
        if (problems.length > 0) throw new Error(`e2e ${options.name}: ${problems.join('; ')}`);
      } finally {
        await pool.end();
      }
      pipeline.send({ type: 'finish' });
      const job = await pipeline.result;
      const bytes = await readFile(samplesFile);
      const latency = latencies(
        // A copy: a small file's Buffer may sit in Node's shared pool at some offset.
        new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)),
        stream,
        options.partitions,
      );
      const started = options.mode === 'drain' ? job.firstInvokeAt : (produced as ProducerResult).firstSendAt;
      return { job, stream, expected, latency, seconds: (job.lastCommitAt - started) / 1000 };
    };

    const jobs = [await runJob(0)];
    const { stream, expected } = jobs[0] as Awaited<ReturnType<typeof runJob>>;
    const floor = options.consumeFloor
      ? await startChild<ConsumeResult>(
          'consume-floor.ts',
          { topic, group: `bench_floor_${stamp}`, events: stream.user.length, windowMs: options.windowMs },
          (p) => ui.update(p),
        ).result
      : null;
    const drained = options.mode === 'drain' ? { topic, stream } : undefined;
    const flinks = options.flink ? [await runFlink(options, stamp, dir, ui, drained)] : [];
    // Further rounds of a drain on the same topic, Flink first in odd rounds: whichever goes first
    // runs right after the bench's own work between rounds (the reference fold, the row checks).
    const rounds = options.mode === 'drain' ? (options.rounds ?? 1) : 1;
    for (let round = 1; round < rounds; round++) {
      const flinkRound = () => runFlink(options, `${stamp}_r${round}`, dir, ui, drained);
      if (options.flink && round % 2 === 1) flinks.push(await flinkRound());
      jobs.push(await runJob(round));
      if (options.flink && round % 2 === 0) flinks.push(await flinkRound());
    }
    const job = medianBySeconds(jobs);
    const sent = produced as ProducerResult;
    return {
      options,
      events: stream.user.length,
      rows: expected.size,
      seconds: job.seconds,
      produceSeconds: (sent.lastAckAt - sent.firstSendAt) / 1000,
      lastRowAfterLastSendMs: job.job.lastCommitAt - sent.lastAckAt,
      pipeline: job.job,
      latency: job.latency,
      floor,
      flink: flinks.length > 0 ? medianBySeconds(flinks) : null,
      rounds: { job: jobs.map((j) => j.seconds), flink: flinks.map((f) => f.seconds) },
    };
  } finally {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
    await rm(dir, { recursive: true, force: true });
  }
}

let unsettled = false;
/** Before each timed run, the job's and Flink's: PostgreSQL's dirty buffers written (settleDatabase). */
async function settle(ui: ProgressLine): Promise<void> {
  if ((await settleDatabase(settings.databaseUrl)) || unsettled) return;
  unsettled = true;
  ui.say("bench: the database user may not CHECKPOINT; runs start with the previous run's dirty buffers");
}

/** The run whose seconds are the median (the upper middle one of an even count). */
function medianBySeconds<T extends { readonly seconds: number }>(runs: readonly T[]): T {
  const sorted = [...runs].sort((a, b) => a.seconds - b.seconds);
  return sorted[Math.floor(sorted.length / 2)] as T;
}

/** The same events (user, event time, partition) in the same order. */
function sameEvents(a: Stream, b: Stream): boolean {
  if (a.user.length !== b.user.length) return false;
  for (let i = 0; i < a.user.length; i++) {
    if (a.user[i] !== b.user[i] || a.eventTime[i] !== b.eventTime[i] || a.partition[i] !== b.partition[i]) {
      return false;
    }
  }
  return true;
}

/** Waits for `done()`, failing when the job died or after 10 minutes. */
export async function waitUntil(done: () => boolean, died: Promise<unknown>, what: string): Promise<void> {
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

/**
 * The reference Flink job on the same stream: on `drained`, the topic the job has just drained;
 * otherwise on a new topic, started (every task running) before the producer fills it with the
 * same seeded stream. Its rows must be the engine's, plus the sessions its end of input fires.
 */
async function runFlink(
  options: E2eOptions,
  stamp: string,
  dir: string,
  ui: ProgressLine,
  drained?: { topic: string; stream: Stream },
): Promise<FlinkResult> {
  const classpath = ensureFlinkJob((line) => ui.say(line));
  const schema = `bench_flink_${stamp}`;
  const topic = drained?.topic ?? `bench_${stamp}_flink`;
  // The stream is seeded: the parent knows how many records each partition gets before they are sent.
  const planned = drained?.stream ?? generate(options);
  const endOffsets = Array.from({ length: options.partitions }, () => 0);
  for (const p of planned.partition) endOffsets[p] = (endOffsets[p] as number) + 1;
  await prepareFlinkSchema(settings.databaseUrl, schema);
  const admin = kafka.admin();
  await admin.connect();
  const pool = new pg.Pool({ connectionString: schemaUrl(schema), max: 1 });
  try {
    if (drained === undefined) {
      await createTopicsAndWait(admin, [{ topic, numPartitions: options.partitions }]);
    }
    const { closed, open } = foldStream(planned, options.partitions);
    const expected = new Map([...closed, ...open]);
    await settle(ui);
    const job = startFlinkJob(classpath, settings.kafkaBrokers, settings.databaseUrl, {
      topic,
      endOffsets,
      schema,
      gapMs: BENCH_ENGINE.gapMs,
      outOfOrdernessMs: BENCH_ENGINE.outOfOrdernessMs,
      jdbcBatchSize: FLINK_JDBC.batchSize,
      jdbcBatchIntervalMs: FLINK_JDBC.batchIntervalMs,
    });
    // Progress from PostgreSQL's own counters (no query on the table while Flink writes it).
    const watch = setInterval(() => {
      pool
        .query<{ n: string }>(
          `SELECT n_tup_ins AS n FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = 'aggregated_counts'`,
          [schema],
        )
        .then(({ rows }) =>
          ui.update({
            type: 'progress',
            phase: 'flink: rows',
            done: Number(rows[0]?.n ?? 0),
            total: expected.size,
            unit: 'rows',
          }),
        )
        .catch(() => undefined);
    }, 2000);
    let produced: ProducerResult | undefined;
    let done: Awaited<typeof job.done>;
    try {
      await job.ready;
      const file = join(dir, 'flink-stream.bin');
      produced =
        drained === undefined
          ? await startChild<ProducerResult>(
              'e2e-producer.ts',
              { ...options, mode: 'full', topic, file },
              (p) => ui.update({ ...p, phase: `flink ${p.phase}` }),
            ).result
          : undefined;
      done = await job.done;
      ui.update({
        type: 'progress',
        phase: 'flink: rows',
        done: expected.size,
        total: expected.size,
        unit: 'rows',
      });
    } finally {
      clearInterval(watch);
      if (job.process.exitCode === null) job.process.kill();
    }
    const stream = drained?.stream ?? (await loadStream(join(dir, 'flink-stream.bin')));
    const { rows } = await pool.query<{
      group_key: string;
      count: string;
      end_ms: string;
      written_ms: string;
    }>(
      `SELECT group_key, count_value AS count,
              (EXTRACT(EPOCH FROM window_end_time AT TIME ZONE 'UTC') * 1000)::bigint AS end_ms,
              (EXTRACT(EPOCH FROM written_at) * 1000)::bigint AS written_ms
         FROM aggregated_counts`,
    );
    const written = new Map(
      rows.map((r) => [r.group_key, { count: Number(r.count), end: Number(r.end_ms) }]),
    );
    const problems = compareRows(written, expected);
    if (problems.length > 0) throw new Error(`flink ${options.name}: ${problems.join('; ')}`);
    const samples = new Float64Array(3 * rows.length);
    let n = 0;
    let lastRowAt = 0;
    for (const r of rows) {
      const writtenAt = Number(r.written_ms);
      lastRowAt = Math.max(lastRowAt, writtenAt);
      if (!closed.has(r.group_key)) continue;
      // group_key = "user_<index>|<start>": the partition is the user's.
      const user = Number(r.group_key.slice(5, r.group_key.indexOf('|')));
      samples.set([partitionOf(user, options.partitions), Number(r.end_ms), writtenAt], 3 * n++);
    }
    const started = produced?.firstSendAt ?? done.firstRecordAt;
    return {
      events: stream.user.length,
      rows: written.size,
      endOfInputRows: open.size,
      seconds: (lastRowAt - started) / 1000,
      produceSeconds: produced === undefined ? 0 : (produced.lastAckAt - produced.firstSendAt) / 1000,
      lastRowAfterLastSendMs: produced === undefined ? null : lastRowAt - produced.lastAckAt,
      latency: latencies(samples.subarray(0, 3 * n), stream, options.partitions),
      peakRssMb: done.peakRssMb,
    };
  } finally {
    await pool.end();
    if (drained === undefined) await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
    await dropSchema(settings.databaseUrl, schema);
  }
}

/**
 * The lab job's JdbcExecutionOptions: JdbcSink's default batch of 5,000 rows, and a partial batch
 * flushed after 200 ms (the default, 0, would hold the last rows until the job ends).
 */
const FLINK_JDBC = { batchSize: 5000, batchIntervalMs: 200 } as const;

/** The warm-up stream of the latency runs, at most (scripts/bench/e2e-pipeline.ts, warmUp): six batches of 10,000 a partition. */
const WARM_UP_EVENTS = 180_000;

function latencies(samples: Float64Array, stream: Stream, partitions: number): Latencies {
  return {
    fromAck: latency(samples, new WatermarkSteps(stream, partitions, 'ackedAt')),
    fromSend: latency(samples, new WatermarkSteps(stream, partitions, 'sentAt')),
  };
}

function latency(samples: Float64Array, steps: WatermarkSteps): Latency {
  const values: number[] = [];
  for (let i = 0; i + 2 < samples.length; i += 3) {
    const passedAt = steps.passedAt(samples[i] as number, samples[i + 1] as number);
    if (passedAt !== undefined) values.push((samples[i + 2] as number) - passedAt);
  }
  values.sort((a, b) => a - b);
  const at = (q: number) => values[Math.min(values.length - 1, Math.floor(q * values.length))] ?? Number.NaN;
  return { sessions: values.length, p50: at(0.5), p99: at(0.99), max: values.at(-1) ?? Number.NaN };
}
