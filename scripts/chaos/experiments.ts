/**
 * The chaos experiments of issue 10, each run as users run the job (`serverless offline start`
 * with the repo's Kafka trigger, default settings: idle flush on), with a fault injected while
 * events flow, then judged by verify.ts against the topic read back from Kafka. One function per
 * experiment; sizes come from the caller (the e2e suite runs small ones, `npm run chaos` larger).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { ensureCheckpointTable, readPartitionSummaries } from '../../lib/checkpoint/index.ts';
import type { EngineConfig } from '../../lib/engine/index.ts';
import { migrate } from '../../lib/sink/index.ts';
import { hostPort, serviceSettings } from '../services/settings.ts';
import { DynamoInstance, instanceDir, KafkaInstance } from './instances.ts';
import { type JobProcess, startJob } from './job.ts';
import { FaultProxy } from './proxy.ts';
import { clean, describeVerdict, readTopic, type Verdict, verify } from './verify.ts';

export type ExperimentName =
  | 'kill'
  | 'kafka-restart'
  | 'dynamodb-restart'
  | 'dynamodb-lost'
  | 'postgres-refuse'
  | 'postgres-partition'
  | 'starve';

export const EXPERIMENTS: readonly ExperimentName[] = [
  'kill',
  'kafka-restart',
  'dynamodb-restart',
  'dynamodb-lost',
  'postgres-refuse',
  'postgres-partition',
  'starve',
];

export interface ExperimentOptions {
  /** Events to produce (plus about one bad record per thousand). */
  readonly events: number;
  /** Events per second the producer aims at (it may not reach it on a busy machine). */
  readonly rate: number;
  readonly users: number;
  readonly partitions: number;
  /** How long a fault lasts (ms): a broker, table or database down, or a partition starved. */
  readonly faultMs: number;
  /** kill: how many times the job is killed with SIGKILL. */
  readonly kills: number;
  readonly seed: number;
  /** Lines of progress (the CLI prints them; tests collect them). */
  readonly log: (line: string) => void;
}

export interface ExperimentResult {
  readonly name: ExperimentName;
  readonly verdict: Verdict;
  readonly ok: boolean;
  readonly seconds: number;
  /** What the experiment saw besides the rows (e.g. that lost state was reported). */
  readonly notes: readonly string[];
}

/** The job's defaults (lib/config.ts): what the reference folds with. */
const ENGINE: EngineConfig = {
  gapMs: 5000,
  outOfOrdernessMs: 0,
  allowedLatenessMs: 0,
  idleFlush: true,
};

/** The job's default IDLE_TIMEOUT_MS: the producer's pause is longer, so idle ticks land mid-stream. */
const IDLE_TIMEOUT_MS = 10_000;

const unique = (prefix: string) => `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `probe` is true; throws naming `what` after `timeoutMs`. */
async function until(what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(250);
  }
}

/** A small seeded PRNG (mulberry32): the same seed, the same users, stragglers and bad records. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const BAD_VALUES = ['garbage', 'user_x,not-a-number', ',1000', 'user_x,1,2', '{"userId": 1}', 'user_x,-5'];

/** Everything an experiment runs against: Kafka, DynamoDB (shared or its own) and a schema. */
class Rig {
  readonly topic = unique('chaos');
  readonly group = unique('chaos_group');
  readonly table = unique('chaos_ckpt');
  readonly schema = unique('chaos');
  readonly notes: string[] = [];
  job: JobProcess | undefined;
  private produced = 0;
  private readonly admin: pg.Pool;
  readonly pool: pg.Pool;

  constructor(
    readonly name: ExperimentName,
    readonly options: ExperimentOptions,
    readonly brokers: string,
    readonly dynamodbEndpoint: string,
    readonly databaseUrl: string,
  ) {
    const settings = serviceSettings();
    this.admin = new pg.Pool({ connectionString: settings.databaseUrl, max: 1 });
    this.pool = new pg.Pool({
      connectionString: settings.databaseUrl,
      options: `-c search_path=${this.schema}`,
      max: 2,
    });
  }

  kafka(clientId = 'chaos'): Kafka {
    return new Kafka({
      clientId,
      brokers: this.brokers.split(','),
      logLevel: logLevel.NOTHING,
      retry: { retries: 8 },
    });
  }

  dynamo(): DynamoDBClient {
    return new DynamoDBClient({
      endpoint: this.dynamodbEndpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 2,
    });
  }

  async prepare(): Promise<void> {
    const admin = this.kafka().admin();
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic: this.topic, numPartitions: this.options.partitions, replicationFactor: 1 }],
    });
    await admin.disconnect();
    const dynamo = this.dynamo();
    await ensureCheckpointTable(dynamo, this.table);
    dynamo.destroy();
    const client = await this.admin.connect();
    try {
      await migrate(client, this.schema);
    } finally {
      client.release();
    }
  }

  async startJob(env: Record<string, string> = {}, params: Record<string, string> = {}): Promise<void> {
    this.job = await startJob({
      name: unique(this.name),
      topic: this.topic,
      group: this.group,
      table: this.table,
      schema: this.schema,
      brokers: this.brokers,
      dynamodbEndpoint: this.dynamodbEndpoint,
      databaseUrl: this.databaseUrl,
      // The default sweep interval offline (5 s) and idle timeout (10 s): default settings.
      env: { OFFLINE_SWEEP_INTERVAL_SECONDS: '5', LOG_LEVEL: 'warn', ...env },
      params: { batchSize: '500', ...params },
    });
    await this.job.ready();
  }

  /**
   * Produces the stream in chunks at about `rate` events per second, each partition keyed by user,
   * with event times from the clock (a few ms of jitter, 0.5% stragglers 8 s behind) and about one
   * bad record per thousand. Half-way it pauses for longer than the idle timeout, so that the
   * partitions fall silent in the log and idle ticks land among the records. `onProgress` sees the
   * events sent so far (faults are injected from there). Sends are retried while a broker is down.
   */
  async produce(onProgress: (sent: number) => Promise<void> = async () => undefined): Promise<void> {
    const { events, rate, users, partitions, seed } = this.options;
    const rnd = random(seed);
    const producer = this.kafka('chaos-producer').producer();
    await producer.connect();
    const chunk = Math.max(50, Math.floor(rate / 10));
    const started = Date.now();
    let pausedAt = -1;
    try {
      while (this.produced < events) {
        const messages: { partition: number; key: string; value: string }[] = [];
        for (let i = 0; i < chunk && this.produced + messages.length < events; i++) {
          const user = Math.floor(rnd() * users);
          const partition = user % partitions;
          if (rnd() < 0.001) {
            messages.push({
              partition,
              key: 'bad',
              value: BAD_VALUES[Math.floor(rnd() * BAD_VALUES.length)] as string,
            });
            continue;
          }
          const behind = rnd() < 0.005 ? 8000 : Math.floor(rnd() * 50);
          messages.push({ partition, key: `user_${user}`, value: `user_${user},${Date.now() - behind}` });
        }
        await this.send(producer, messages);
        this.produced += messages.length;
        await onProgress(this.produced);
        if (pausedAt < 0 && this.produced >= events / 2) {
          pausedAt = this.produced;
          this.options.log(`${this.name}: producer silent for ${IDLE_TIMEOUT_MS + 4000} ms (idle ticks)`);
          await sleep(IDLE_TIMEOUT_MS + 4000);
        }
        // Pace: where the clock says we should be, at `rate` events per second.
        const due = started + (this.produced / rate) * 1000 + (pausedAt >= 0 ? IDLE_TIMEOUT_MS + 4000 : 0);
        if (due > Date.now()) await sleep(due - Date.now());
      }
    } finally {
      await producer.disconnect().catch(() => undefined);
    }
  }

  private async send(
    producer: ReturnType<Kafka['producer']>,
    messages: { partition: number; key: string; value: string }[],
  ): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await producer.send({ topic: this.topic, acks: -1, messages });
        return;
      } catch (error) {
        if (attempt % 20 === 1)
          this.options.log(`${this.name}: produce failed, retrying: ${(error as Error).message}`);
        await sleep(500);
      }
    }
  }

  /** Offsets the job has committed, summed over partitions. */
  async committed(): Promise<number> {
    const admin = this.kafka('chaos-admin').admin();
    await admin.connect();
    try {
      const [t] = await admin.fetchOffsets({ groupId: this.group, topics: [this.topic] });
      return (t?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
    } finally {
      await admin.disconnect();
    }
  }

  /**
   * Quiescence: every record (ticks included) committed, and no session without a row (the idle
   * ticks wrote them all early), so no more ticks will come. The topic is then final.
   */
  async quiescent(timeoutMs: number): Promise<void> {
    await until(
      'every record committed and every session closed',
      async () => {
        const admin = this.kafka('chaos-admin').admin();
        await admin.connect();
        let ends: number;
        try {
          ends = (await admin.fetchTopicOffsets(this.topic)).reduce((sum, p) => sum + Number(p.high), 0);
        } finally {
          await admin.disconnect();
        }
        if ((await this.committed()) !== ends) return false;
        const dynamo = this.dynamo();
        try {
          const parts = Array.from({ length: this.options.partitions }, (_, i) => i);
          const summaries = await readPartitionSummaries(dynamo, this.table, this.topic, parts);
          // Sessions stay in state until the records' watermark passes them; the rows are complete
          // once none is left without a row (an idle tick wrote them early).
          return summaries.every((s) => (s.pendingSessions ?? 0) === 0);
        } finally {
          dynamo.destroy();
        }
      },
      timeoutMs,
    );
  }

  async judge(): Promise<Verdict> {
    const log = await readTopic(this.kafka('chaos-verify'), this.topic);
    return verify(this.pool, log, ENGINE);
  }

  async cleanup(): Promise<void> {
    await this.job?.stop('SIGKILL').catch(() => undefined);
    const admin = this.kafka('chaos-admin').admin();
    await admin
      .connect()
      .then(() => admin.deleteTopics({ topics: [this.topic] }))
      .catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    await this.pool.end();
    await this.admin.query(`DROP SCHEMA IF EXISTS "${this.schema}" CASCADE`).catch(() => undefined);
    await this.admin.end();
  }
}

/** Runs one experiment and judges it. */
export async function runExperiment(
  name: ExperimentName,
  options: ExperimentOptions,
): Promise<ExperimentResult> {
  const started = Date.now();
  const shared = serviceSettings();
  const own: { kafka?: KafkaInstance; dynamo?: DynamoInstance; proxy?: FaultProxy } = {};
  try {
    if (name === 'kafka-restart') own.kafka = await KafkaInstance.start(unique('kafka'));
    if (name === 'dynamodb-restart' || name === 'dynamodb-lost')
      own.dynamo = await DynamoInstance.start(unique('dynamodb'));
    if (name === 'postgres-refuse' || name === 'postgres-partition') {
      const target = hostPort(new URL(shared.databaseUrl).host);
      own.proxy = await FaultProxy.start({ host: target.host, port: target.port || 5432 });
    }
    const databaseUrl = (() => {
      if (own.proxy === undefined) return shared.databaseUrl;
      const url = new URL(shared.databaseUrl);
      url.host = own.proxy.url;
      return url.toString();
    })();
    const rig = new Rig(
      name,
      options,
      own.kafka?.brokers ?? shared.kafkaBrokers.join(','),
      own.dynamo?.endpoint ?? shared.dynamodbEndpoint,
      databaseUrl,
    );
    try {
      await rig.prepare();
      const notes = await FAULTS[name](rig, own).catch((error: unknown) => {
        // Keep the job's output for the post-mortem; the error says where it is.
        const file = path.join(instanceDir('jobs'), `${name}-${rig.topic}.log`);
        mkdirSync(path.dirname(file), { recursive: true });
        writeFileSync(file, rig.job?.output() ?? '(no job)');
        throw new Error(`${name}: ${(error as Error).message} (job output: ${file})`, { cause: error });
      });
      const verdict = await rig.judge();
      const ok = name === 'dynamodb-lost' ? lostStateOk(verdict, notes) : clean(verdict);
      options.log(
        `${name}: ${describeVerdict(verdict)}${ok ? '' : ` FAILED ${verdict.examples.join('; ')}`}`,
      );
      return { name, verdict, ok, seconds: (Date.now() - started) / 1000, notes };
    } finally {
      await rig.cleanup();
    }
  } finally {
    await own.proxy?.close();
    await own.kafka?.destroy();
    await own.dynamo?.destroy();
  }
}

/**
 * After the checkpoint table is lost the job must stop, not go on counting from nothing: the rows
 * it wrote before are right (with L = 0 a row is final when written), none is extra or wrong, and
 * it said why. Sessions it had not closed yet are missing: that is the point.
 */
function lostStateOk(verdict: Verdict, notes: readonly string[]): boolean {
  return (
    notes.includes('CheckpointLost reported') &&
    notes.includes('committed offsets stopped') &&
    verdict.overCounted + verdict.underCounted + verdict.extra + verdict.wronglyLate === 0
  );
}

type Fault = (
  rig: Rig,
  own: { kafka?: KafkaInstance; dynamo?: DynamoInstance; proxy?: FaultProxy },
) => Promise<string[]>;

/** Runs `fault` once when production passes `at` (a fraction of the events), in the background. */
function at(
  rig: Rig,
  fraction: number,
  fault: () => Promise<void>,
): { onProgress: (sent: number) => Promise<void>; done: () => Promise<void> } {
  let running: Promise<void> | undefined;
  return {
    onProgress: async (sent) => {
      if (running === undefined && sent >= rig.options.events * fraction) running = fault();
    },
    done: async () => {
      await running;
    },
  };
}

/**
 * A service broken at 40% of the events, for faultMs, then healed, while the job runs and events
 * flow; then every record committed and every session closed, the job still alive.
 */
async function outage(
  rig: Rig,
  what: string,
  breakIt: () => Promise<unknown>,
  healIt: () => Promise<unknown>,
): Promise<string[]> {
  await rig.startJob();
  const fault = at(rig, 0.4, async () => {
    await breakIt();
    rig.options.log(`${rig.name}: ${what} for ${rig.options.faultMs} ms`);
    await sleep(rig.options.faultMs);
    await healIt();
    rig.options.log(`${rig.name}: healed`);
  });
  await rig.produce(fault.onProgress);
  await fault.done();
  await rig.quiescent(300_000);
  if (rig.job?.child.exitCode !== null) throw new Error(`the job died (${what})`);
  return [`${what} for ${rig.options.faultMs} ms; the job kept running`];
}

const FAULTS: Record<ExperimentName, Fault> = {
  /** kill -9 of the whole job at random points of progress, started again each time. */
  kill: async (rig) => {
    const rnd = random(rig.options.seed + 1);
    await rig.startJob();
    const producing = rig.produce();
    for (let k = 0; k < rig.options.kills; k++) {
      const threshold = Math.floor(((k + rnd()) / (rig.options.kills + 1)) * rig.options.events);
      await until(`committed >= ${threshold}`, async () => (await rig.committed()) >= threshold, 300_000);
      await rig.job?.stop('SIGKILL');
      rig.options.log(`kill: killed the job with SIGKILL at ${await rig.committed()} committed records`);
      await rig.startJob();
    }
    await producing;
    await rig.quiescent(300_000);
    return [`killed ${rig.options.kills} times`];
  },

  /** The Kafka broker killed and started again on its data. */
  'kafka-restart': (rig, own) =>
    outage(
      rig,
      'broker killed',
      async () => own.kafka?.kill('SIGKILL'),
      async () => own.kafka?.start(),
    ),

  /** DynamoDB Local killed and started again on its data (a restart, nothing lost). */
  'dynamodb-restart': (rig, own) =>
    outage(
      rig,
      'DynamoDB Local killed',
      async () => own.dynamo?.kill('SIGKILL'),
      async () => own.dynamo?.start(),
    ),

  /**
   * DynamoDB Local restarted without its data (as the earlier in-memory setup did), the empty table
   * created again as services:up would: the job must refuse to go on, say so, and commit nothing.
   */
  'dynamodb-lost': async (rig, own) => {
    await rig.startJob();
    const notes: string[] = [];
    const producing = rig.produce();
    // Only state the job has committed can be lost: wait for some first.
    const threshold = Math.floor(rig.options.events * 0.3);
    await until(`committed >= ${threshold}`, async () => (await rig.committed()) >= threshold, 300_000);
    await own.dynamo?.kill('SIGKILL');
    own.dynamo?.wipeData();
    await own.dynamo?.start();
    const dynamo = rig.dynamo();
    await ensureCheckpointTable(dynamo, rig.table);
    dynamo.destroy();
    rig.options.log('dynamodb-lost: DynamoDB Local restarted empty, the table created again');
    await producing;
    await until(
      'the job to report lost state',
      async () => (rig.job?.output() ?? '').includes('CHECKPOINT_LOST'),
      120_000,
    );
    notes.push('CheckpointLost reported');
    const paused = await rig.committed();
    await sleep(8000);
    if ((await rig.committed()) === paused) notes.push('committed offsets stopped');
    rig.options.log(`dynamodb-lost: ${notes.join(', ')} (at ${paused} committed records)`);
    return notes;
  },

  /** PostgreSQL refuses connections (the server down) for a while. */
  'postgres-refuse': (rig, own) =>
    outage(
      rig,
      'connections refused',
      async () => own.proxy?.refuse(),
      async () => own.proxy?.pass(),
    ),

  /** A network partition to PostgreSQL: connections open, nothing answers. */
  'postgres-partition': (rig, own) =>
    outage(
      rig,
      'network partition',
      async () => own.proxy?.blackhole(),
      async () => own.proxy?.pass(),
    ),

  /** One partition starved (its batches held back) while the others are busy. */
  starve: async (rig) => {
    await rig.startJob({ OFFLINE_KAFKA_STALL: `0:${rig.options.faultMs}` }, { batchSize: '10000' });
    await rig.produce();
    await rig.quiescent(600_000);
    return [`partition 0 held ${rig.options.faultMs} ms per batch`];
  },
};
