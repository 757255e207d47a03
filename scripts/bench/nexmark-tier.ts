/**
 * The nexmark tier: Nexmark's query 11 (user sessions: how many bids each bidder made in each of
 * its sessions, a 10 s gap) run by the job, end to end, for a comparison with the figures other
 * engines publish for it (docs/BENCHMARKS.md, "The nexmark tier"). The bids of the Nexmark
 * generator (scripts/bench/nexmark.ts) go into a topic of their own as JSON, keyed by bidder; the
 * job drains it as the end-to-end tier's drain does (the local trigger, a handler thread per
 * partition, DynamoDB Local, PostgreSQL), mapped onto the bids by its settings alone:
 * USER_ID_FIELD=bidder, EVENT_TIME_FIELD=dateTime (ISO-8601), SESSION_GAP_MS=10000 and
 * OUT_OF_ORDERNESS_MS=0 (the generator stamps events in order). Its rows are compared one by one
 * with the engine's fold of the same bids.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompressionTypes, Kafka, logLevel, type Message } from 'kafkajs';
import pg from 'pg';
import type { EngineConfig, EventRecord } from '../../lib/engine/index.ts';
import { createTopicsAndWait } from '../services/kafka.ts';
import { startChild } from './children.ts';
import { waitUntil } from './e2e.ts';
import type { PipelineResult } from './e2e-pipeline.ts';
import { type BidStream, generateBids, NEXMARK_Q11_GAP_MS } from './nexmark.ts';
import type { ProgressLine } from './progress.ts';
import { type ExpectedRow, foldPartitions, partitionOfKey } from './stream.ts';
import { compareRows, schemaUrl, settings, settleDatabase, writtenRows } from './workspace.ts';

export interface NexmarkOptions {
  /** Nexmark events generated (people and auctions included); about 92 % of them are bids. */
  readonly events: number;
  /** Events per second of event time. */
  readonly rate: number;
  readonly partitions: number;
  readonly batchSize: number;
  readonly windowMs: number;
  readonly seed: number;
}

export interface NexmarkResult {
  readonly options: NexmarkOptions;
  readonly bids: number;
  readonly bidders: number;
  /** Sessions the records close (the job's rows), and those still open at the end of the bids. */
  readonly rows: number;
  readonly open: number;
  /** First record read to the last row's commit. */
  readonly seconds: number;
  readonly produceSeconds: number;
  readonly pipeline: PipelineResult;
}

/** Query 11 as the engine folds it: the bids arrive in event-time order, nothing is late. */
export const Q11_ENGINE: EngineConfig = {
  gapMs: NEXMARK_Q11_GAP_MS,
  outOfOrdernessMs: 0,
  allowedLatenessMs: 0,
  idleFlush: false,
};

/** The job's settings for query 11 on Nexmark's bids (docs/DESIGN.md section 2, "Field mapping"). */
export const Q11_SETTINGS: Record<string, string> = {
  USER_ID_FIELD: 'bidder',
  EVENT_TIME_FIELD: 'dateTime',
  SESSION_GAP_MS: String(Q11_ENGINE.gapMs),
  OUT_OF_ORDERNESS_MS: String(Q11_ENGINE.outOfOrdernessMs),
  ALLOWED_LATENESS_MS: String(Q11_ENGINE.allowedLatenessMs),
};

/**
 * Bids per send: a send's records of one partition go in one batch, which the broker refuses over
 * its 1 MB message.max.bytes, and three bids in four are one hot bidder's (one partition).
 */
const CHUNK = 2000;
const kafka = new Kafka({
  clientId: 'bench-nexmark',
  brokers: settings.kafkaBrokers,
  logLevel: logLevel.NOTHING,
});

/** The bidder's id as the record's key and the job's user id: the bid's `bidder`, as text. */
const key = (bidder: number) => String(bidder);

/** The rows the job must write (sessions the bids close), and the sessions left open. */
function expected(stream: BidStream, partitions: number): { closed: Map<string, ExpectedRow>; open: number } {
  const records: EventRecord[][] = Array.from({ length: partitions }, () => []);
  for (let i = 0; i < stream.bidder.length; i++) {
    const id = key(stream.bidder[i] as number);
    const list = records[partitionOfKey(id, partitions)] as EventRecord[];
    const eventTime = stream.dateTime[i] as number;
    list.push({ offset: list.length, userId: id, eventTime, timestamp: eventTime });
  }
  const { closed, open } = foldPartitions(records, Q11_ENGINE);
  return { closed, open: open.size };
}

export async function runNexmark(options: NexmarkOptions, ui: ProgressLine): Promise<NexmarkResult> {
  const stamp = `nexmark_${Date.now().toString(36)}`;
  const topic = `bench_${stamp}`;
  const stream = generateBids({ events: options.events, rate: options.rate, seed: options.seed });
  const bids = stream.bidder.length;
  const { closed, open } = expected(stream, options.partitions);
  const admin = kafka.admin();
  await admin.connect();
  const dir = await mkdtemp(join(tmpdir(), 'sessionizer-nexmark-'));
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  try {
    await createTopicsAndWait(admin, [{ topic, numPartitions: options.partitions }]);
    // Produced first, then drained: the bids are all in Kafka before the job starts.
    await producer.connect();
    const producedFrom = Date.now();
    for (let from = 0; from < bids; from += CHUNK) {
      const messages: Message[] = [];
      for (let i = from; i < Math.min(bids, from + CHUNK); i++) {
        const id = key(stream.bidder[i] as number);
        messages.push({
          key: id,
          value: stream.values[i] as string,
          partition: partitionOfKey(id, options.partitions),
        });
      }
      await producer.send({ topic, messages, acks: 1, compression: CompressionTypes.None });
      ui.update({
        type: 'progress',
        phase: 'nexmark: produced',
        done: from + messages.length,
        total: bids,
        unit: 'bids',
      });
    }
    const produceSeconds = (Date.now() - producedFrom) / 1000;
    await settleDatabase(settings.databaseUrl);
    let processed = 0;
    const pipeline = startChild<PipelineResult>(
      'e2e-pipeline.ts',
      {
        name: 'nexmark',
        topic,
        group: `bench_${stamp}`,
        batchSize: options.batchSize,
        windowMs: options.windowMs,
        partitions: options.partitions,
        expectedEvents: bids,
        samplesFile: join(dir, 'samples.bin'),
        warmUpEvents: 0,
        env: Q11_SETTINGS,
      },
      (p) => {
        processed = p.done;
        ui.update({ ...p, phase: 'nexmark: processed', unit: 'bids' });
      },
    );
    const { schema } = await pipeline.ready;
    if (schema === undefined) throw new Error('the pipeline process named no schema');
    // Every record is reported only after its sink transaction committed: then every row is in.
    await waitUntil(() => processed >= bids, pipeline.result, 'the job to read every bid');
    const pool = new pg.Pool({ connectionString: schemaUrl(schema), max: 1 });
    try {
      const problems = compareRows(await writtenRows(pool), closed);
      if (problems.length > 0) throw new Error(`nexmark q11: ${problems.join('; ')}`);
    } finally {
      await pool.end();
    }
    pipeline.send({ type: 'finish' });
    const job = await pipeline.result;
    return {
      options,
      bids,
      bidders: new Set(stream.bidder).size,
      rows: closed.size,
      open,
      seconds: (job.lastCommitAt - job.firstInvokeAt) / 1000,
      produceSeconds,
      pipeline: job,
    };
  } finally {
    await producer.disconnect().catch(() => undefined);
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
    await rm(dir, { recursive: true, force: true });
  }
}
