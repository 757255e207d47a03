/**
 * The chaos experiments of issues 10 and 17, each run as users run the job (`serverless offline
 * start` with the repo's Kafka trigger, default settings or one of settings.ts's variants, idle
 * flush on), with a fault injected while events flow, then judged by verify.ts against the topic
 * read back from Kafka. One function per experiment; sizes come from the caller (the e2e suite runs
 * small ones, `npm run chaos` larger).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Kafka, logLevel, type Message, type Producer } from 'kafkajs';
import pg from 'pg';
import {
  ensureCheckpointTable,
  type PartitionSummary,
  readPartitionSummaries,
} from '../../lib/checkpoint/index.ts';
import { migrate } from '../../lib/sink/index.ts';
import { createTopicsAndWait } from '../services/kafka.ts';
import { hostPort, serviceSettings } from '../services/settings.ts';
import { DynamoInstance, instanceDir, KafkaInstance } from './instances.ts';
import { type JobProcess, startJob } from './job.ts';
import { FaultProxy } from './proxy.ts';
import {
  CHAOS_SETTINGS,
  type ChaosSettings,
  IDLE_TIMEOUT_MS,
  type SettingsName,
  SWEEP_INTERVAL_MS,
} from './settings.ts';
import { BAD_TEXTS, badKey, badPartition, goodValue, POISON_TIMESTAMPS } from './values.ts';
import {
  clean,
  describeVerdict,
  readTopic,
  TICK_HEADER,
  TICK_HEADER_VALUE,
  type Verdict,
  verify,
} from './verify.ts';

export type ExperimentName =
  | 'kill'
  | 'kafka-restart'
  | 'dynamodb-restart'
  | 'dynamodb-lost'
  | 'postgres-refuse'
  | 'postgres-partition'
  | 'starve'
  | 'clock-behind'
  | 'clock-ahead'
  | 'history'
  | 'bursts'
  | 'future-tick'
  | 'outage-backlog'
  | 'poison-timestamp';

export const EXPERIMENTS: readonly ExperimentName[] = [
  'kill',
  'kafka-restart',
  'dynamodb-restart',
  'dynamodb-lost',
  'postgres-refuse',
  'postgres-partition',
  'starve',
  'clock-behind',
  'clock-ahead',
  'history',
  'bursts',
  'future-tick',
  'outage-backlog',
  'poison-timestamp',
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
  /** bursts: how many bursts the events are shipped in. */
  readonly bursts: number;
  /** The job's settings (settings.ts); the judge folds with the same. */
  readonly settings: SettingsName;
  readonly seed: number;
  /** Lines of progress (the CLI prints them; tests collect them). */
  readonly log: (line: string) => void;
}

export interface ExperimentResult {
  readonly name: ExperimentName;
  readonly settings: SettingsName;
  readonly verdict: Verdict;
  readonly ok: boolean;
  readonly seconds: number;
  /** What the experiment saw besides the rows (e.g. that lost state was reported). */
  readonly notes: readonly string[];
  /** Why the run failed apart from the rows: an expectation of the experiment not met, a timeout. */
  readonly problems: readonly string[];
}

/**
 * How the producer behaves in an experiment: its clock against the sweep's (the real one), and
 * where it falls silent. Every silence lasts at least `minSilenceMs` and until every partition got
 * an idle tick or has nothing for one to write (bounded), so that ticks really sit among the records.
 */
interface Profile {
  readonly clockOffsetMs: number;
  /** Fractions of the events after which the producer falls silent. */
  readonly silences: readonly number[];
  readonly minSilenceMs: number;
}

const HALF_WAY: Profile = { clockOffsetMs: 0, silences: [0.5], minSilenceMs: IDLE_TIMEOUT_MS + 4000 };
const DAY_MS = 86_400_000;

function profile(name: ExperimentName, options: ExperimentOptions): Profile {
  switch (name) {
    // A lagging clock: the silence ends as soon as the ticks landed, so that the next records,
    // stamped 15 s (or 3 days) before the ticks, follow them in the log at any size. (The sweep
    // once measured silence in Kafka time: to it such a producer looked silent all along.)
    case 'clock-behind':
      return { clockOffsetMs: -15_000, silences: [0.5], minSilenceMs: 0 };
    case 'clock-ahead':
      return { ...HALF_WAY, clockOffsetMs: 15_000 };
    case 'history':
      return { clockOffsetMs: -3 * DAY_MS, silences: [0.5], minSilenceMs: 0 };
    case 'bursts': {
      const n = Math.max(2, options.bursts);
      return {
        ...HALF_WAY,
        silences: Array.from({ length: n - 1 }, (_, i) => (i + 1) / n),
        minSilenceMs: 20_000,
      };
    }
    // Its quiet period in the log is the outage itself (see the experiment).
    case 'outage-backlog':
      return { ...HALF_WAY, silences: [] };
    // Silent before the state is lost at 30 %: afterwards no tick can come.
    case 'dynamodb-lost':
      return { ...HALF_WAY, silences: [0.2] };
    default:
      return HALF_WAY;
  }
}

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

/** Messages for one partition-less send: each carries its partition. */
type Outgoing = Message & { partition: number };

/** Everything an experiment runs against: Kafka, DynamoDB (shared or its own) and a schema. */
class Rig {
  readonly topic = unique('chaos');
  readonly group = unique('chaos_group');
  readonly table = unique('chaos_ckpt');
  readonly schema = unique('chaos');
  readonly notes: string[] = [];
  /** Expectations of the experiment that were not met (the run fails). */
  readonly problems: string[] = [];
  /** "partition:offset" of the ticks the experiment appended itself. */
  readonly forged = new Set<string>();
  readonly profile: Profile;
  job: JobProcess | undefined;
  private produced = 0;
  /** While set, the producer keeps what it makes here instead of sending it (outage-backlog). */
  private held: Outgoing[] | undefined;
  private releaseHeld: (() => void) | undefined;
  private heldReleased: Promise<void> = Promise.resolve();
  /** The producer of sendOne. */
  private single: Producer | undefined;
  private readonly admin: pg.Pool;
  readonly pool: pg.Pool;

  constructor(
    readonly name: ExperimentName,
    readonly options: ExperimentOptions,
    readonly settings: ChaosSettings,
    readonly brokers: string,
    readonly dynamodbEndpoint: string,
    readonly databaseUrl: string,
  ) {
    const services = serviceSettings();
    this.profile = profile(name, options);
    this.admin = new pg.Pool({ connectionString: services.databaseUrl, max: 1 });
    this.pool = new pg.Pool({
      connectionString: services.databaseUrl,
      options: `-c search_path=${this.schema}`,
      max: 2,
    });
  }

  log(line: string): void {
    this.options.log(`${this.name}: ${line}`);
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
    await createTopicsAndWait(admin, [
      {
        topic: this.topic,
        numPartitions: this.options.partitions,
        replicationFactor: 1,
        // The producer's timestamps as sent, however far from the broker's clock (Kafka 3.9's
        // defaults, spelled out: Kafka 4 refuses CreateTimes more than an hour ahead by default).
        configEntries: [
          { name: 'message.timestamp.type', value: 'CreateTime' },
          { name: 'message.timestamp.before.max.ms', value: '9223372036854775807' },
          { name: 'message.timestamp.after.max.ms', value: '9223372036854775807' },
        ],
      },
    ]);
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
      // The offline sweep at its default interval (2 s; job.ts would set 1 s); the idle timeout is
      // left at its default (5 s).
      env: {
        OFFLINE_SWEEP_INTERVAL_SECONDS: String(SWEEP_INTERVAL_MS / 1000),
        LOG_LEVEL: 'warn',
        ...this.settings.env,
        ...env,
      },
      params: { batchSize: '500', ...params },
    });
    await this.job.ready();
  }

  /** The producer's clock: the real one (the sweep's) shifted by the experiment's offset. */
  clock(): number {
    return Date.now() + this.profile.clockOffsetMs;
  }

  /** How far behind the producer's clock the next event's time is: jitter, or a straggler's lag. */
  private behind(rnd: () => number): number {
    for (const s of this.settings.stragglers) {
      if (rnd() < s.share) return s.minBehindMs + Math.floor(rnd() * (s.maxBehindMs - s.minBehindMs + 1));
    }
    return Math.floor(rnd() * 50);
  }

  /**
   * Produces the stream in chunks at about `rate` events per second, each partition keyed by user
   * (`user_<n>,<event time>`, partition n mod partitions), about one bad record per thousand (in
   * the partition of the user it may become, values.ts), event times from the producer's clock
   * minus jitter or a straggler's lag. The Kafka timestamp (CreateTime) is the producer's clock
   * when it sends, or the event time itself with EVENT_TIME_SOURCE=kafka (so that stragglers are
   * stragglers there too). At the profile's silences it stops until idle ticks have landed.
   * `onProgress` sees the events sent so far (faults are injected from there). Sends are retried
   * while a broker is down.
   */
  async produce(onProgress: (sent: number) => Promise<void> = async () => undefined): Promise<void> {
    const { events, rate, users, partitions, seed } = this.options;
    const kafkaTime = this.settings.eventTimeSource === 'kafka';
    const rnd = random(seed);
    const producer = this.kafka('chaos-producer').producer();
    await producer.connect();
    const chunk = Math.max(50, Math.floor(rate / 10));
    const started = Date.now();
    const silences = [...this.profile.silences];
    let silentMs = 0;
    try {
      while (this.produced < events) {
        const messages: Outgoing[] = [];
        const now = this.clock();
        for (let i = 0; i < chunk && this.produced + messages.length < events; i++) {
          const user = Math.floor(rnd() * users);
          const partition = user % partitions;
          if (rnd() < 0.001) {
            const value = BAD_TEXTS[Math.floor(rnd() * BAD_TEXTS.length)] as string;
            messages.push({
              partition: badPartition(value, partitions),
              key: badKey(value),
              value,
              timestamp: String(now),
            });
            continue;
          }
          const eventTime = now - this.behind(rnd);
          messages.push({
            partition,
            key: `user_${user}`,
            value: goodValue(user, eventTime),
            timestamp: String(kafkaTime ? eventTime : now),
          });
        }
        await this.deliver(producer, messages);
        this.produced += messages.length;
        await onProgress(this.produced);
        const next = silences[0];
        if (next !== undefined && this.produced >= events * next) {
          silences.shift();
          const from = Date.now();
          await this.silence();
          silentMs += Date.now() - from;
        }
        // Pace: where the clock says we should be, at `rate` events per second.
        const due = started + silentMs + (this.produced / rate) * 1000;
        if (due > Date.now()) await sleep(due - Date.now());
      }
      if (this.held !== undefined) {
        await this.heldReleased;
        await this.deliver(producer, []);
      }
    } finally {
      await producer.disconnect().catch(() => undefined);
    }
  }

  /** Sends, or keeps while held; the first send after a release sends the backlog first, in order. */
  private async deliver(producer: Producer, messages: Outgoing[]): Promise<void> {
    if (this.held !== undefined && this.releaseHeld !== undefined) {
      this.held.push(...messages);
      return;
    }
    if (this.held !== undefined) {
      const backlog = this.held;
      this.held = undefined;
      this.log(`sending the ${backlog.length} records held back`);
      for (let i = 0; i < backlog.length; i += 500) await this.send(producer, backlog.slice(i, i + 500));
    }
    if (messages.length > 0) await this.send(producer, messages);
  }

  /** From now on the producer keeps its records (with their timestamps) instead of sending them. */
  hold(): void {
    this.held = [];
    this.heldReleased = new Promise((resolve) => {
      this.releaseHeld = resolve;
    });
  }

  /** The held records go out with the producer's next send, before anything newer. */
  release(): void {
    const resolve = this.releaseHeld;
    this.releaseHeld = undefined;
    resolve?.();
  }

  private async send(producer: Producer, messages: Outgoing[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await producer.send({ topic: this.topic, acks: -1, messages });
        return;
      } catch (error) {
        if (attempt % 20 === 1) this.log(`produce failed, retrying: ${(error as Error).message}`);
        await sleep(500);
      }
    }
  }

  /** Sends one record on its own (its timestamp cannot upset a batch's), retried; its offset. */
  async sendOne(message: Outgoing): Promise<number> {
    if (this.single === undefined) {
      this.single = this.kafka('chaos-producer-one').producer();
      await this.single.connect();
    }
    for (let attempt = 1; ; attempt++) {
      try {
        const [meta] = await this.single.send({ topic: this.topic, acks: -1, messages: [message] });
        return Number(meta?.baseOffset);
      } catch (error) {
        if (attempt % 20 === 1) this.log(`produce failed, retrying: ${(error as Error).message}`);
        await sleep(500);
      }
    }
  }

  /**
   * The producer falls silent: at least the profile's minimum, and until every partition that has
   * records is settled: an idle tick landed in it (its log grew while nothing was produced), or the
   * job has read all of it and holds no session without a row (nothing for a tick to write: the
   * sweep rightly sends none). At most a bound: a partition still unsettled then fails the run.
   */
  /**
   * True while the producer is silent: `kill` holds its kills then, or a job killed every time it
   * comes back (a full-size run restarts in 20-30 s on a loaded machine) would never be quiet long
   * enough for the sweep, and the silence would measure the restarts, not the idle flush.
   */
  silent = false;

  private async silence(): Promise<void> {
    const since = await this.logEnds();
    const { minSilenceMs } = this.profile;
    const maxMs = Math.max(120_000, this.options.faultMs + 90_000);
    this.log(
      `producer silent (at least ${minSilenceMs} ms, until every partition is ticked or has nothing to write)`,
    );
    const from = Date.now();
    this.silent = true;
    const unsettled = await this.ticksLanded(since, minSilenceMs, maxMs).finally(() => {
      this.silent = false;
    });
    if (unsettled.length === 0) {
      this.log(`silent for ${Date.now() - from} ms`);
      return;
    }
    // The idle flush writes a quiet partition's sessions within seconds: two minutes without a tick
    // is a failure of its own, whatever the rows say in the end.
    this.problems.push(
      `partition(s) ${unsettled.join(', ')}: sessions without a row and no idle tick after ${maxMs} ms of silence`,
    );
    this.log(`partition(s) ${unsettled.join(', ')} unsettled after ${maxMs} ms of silence; producing again`);
  }

  /**
   * Waits at least minMs, and until every partition of `since` (log end offsets when the quiet
   * began) that has records got a record since (an idle tick: nothing else writes meanwhile) or is
   * read to its end with no session pending; gives up after maxMs. Returns the unsettled partitions.
   */
  async ticksLanded(since: ReadonlyMap<number, number>, minMs: number, maxMs: number): Promise<number[]> {
    const from = Date.now();
    for (;;) {
      let unsettled = [...since].filter(([, end]) => end > 0).map(([p]) => p);
      const ends = await this.logEnds(0).catch(() => undefined);
      if (ends !== undefined) {
        unsettled = unsettled.filter((p) => (ends.get(p) ?? 0) <= (since.get(p) ?? 0));
        const summaries = await this.summaries(unsettled).catch(() => undefined);
        if (summaries !== undefined) {
          unsettled = unsettled.filter((p) => {
            const s = summaries.find((x) => x.partition === p);
            return !(s !== undefined && s.nextOffset >= (ends.get(p) ?? 0) && s.pendingSessions === 0);
          });
        }
      }
      const elapsed = Date.now() - from;
      if (unsettled.length === 0 && elapsed >= minMs) return [];
      if (elapsed >= maxMs) return unsettled;
      await sleep(500);
    }
  }

  /** What the checkpoint says of these partitions (next offset, sessions without a row). */
  private async summaries(partitions: readonly number[]): Promise<PartitionSummary[]> {
    if (partitions.length === 0) return [];
    const dynamo = this.dynamo();
    try {
      return await readPartitionSummaries(dynamo, this.table, this.topic, partitions);
    } finally {
      dynamo.destroy();
    }
  }

  /** Each partition's log end offset, retried while the broker is away (for up to `patienceMs`). */
  async logEnds(patienceMs = 300_000): Promise<Map<number, number>> {
    const deadline = Date.now() + patienceMs;
    for (;;) {
      const admin = this.kafka('chaos-admin').admin();
      try {
        await admin.connect();
        const ends = await admin.fetchTopicOffsets(this.topic);
        return new Map(ends.map((p) => [p.partition, Number(p.high)]));
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await sleep(500);
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
    }
  }

  /** Offsets the job has committed, per partition (-1: none). */
  async committedByPartition(): Promise<Map<number, number>> {
    const admin = this.kafka('chaos-admin').admin();
    await admin.connect();
    try {
      const [t] = await admin.fetchOffsets({ groupId: this.group, topics: [this.topic] });
      return new Map((t?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
    } finally {
      await admin.disconnect();
    }
  }

  /** Offsets the job has committed, summed over partitions. */
  async committed(): Promise<number> {
    let sum = 0;
    for (const offset of (await this.committedByPartition()).values()) sum += Math.max(0, offset);
    return sum;
  }

  /**
   * Quiescence: every record (ticks included) committed, and no session with changes not yet
   * written (pendingSessions 0 on every partition: a tick after the last records wrote them all).
   * Sessions may stay live for good (early firing keeps them); their rows are up to date. The topic
   * is then final: the sweep has nothing left to tick for.
   *
   * Fails early, saying where, when a partition stops committing for two minutes while behind
   * (a batch retried without end), or when everything is committed but sessions stay pending and
   * no tick comes for long after the idle timeout.
   */
  async quiescent(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const stuckMs = 120_000;
    const untickedMs = IDLE_TIMEOUT_MS + SWEEP_INTERVAL_MS + 60_000;
    let committedSince = Date.now();
    let grewSince = Date.now();
    let previousCommitted = '';
    let previousEnds = '';
    for (;;) {
      const state = await this.progress().catch(() => undefined);
      if (state !== undefined) {
        const committed = JSON.stringify([...state.committed]);
        const ends = JSON.stringify([...state.ends]);
        if (committed !== previousCommitted) {
          previousCommitted = committed;
          committedSince = Date.now();
        }
        if (ends !== previousEnds) {
          previousEnds = ends;
          grewSince = Date.now();
        }
        const behind = [...state.ends].filter(([p, end]) => Math.max(0, state.committed.get(p) ?? 0) < end);
        const pending = state.pending.filter((n) => n > 0);
        if (behind.length === 0 && pending.length === 0) return;
        const stuck = Date.now() - committedSince;
        if (behind.length > 0 && stuck > stuckMs) {
          throw new Error(
            `partition(s) ${behind.map(([p, end]) => `${p} (committed ${state.committed.get(p)}, log end ${end})`).join(', ')} ` +
              `stopped committing for ${Math.round(stuck / 1000)} s${this.lastFailure()}`,
          );
        }
        const quiet = Date.now() - Math.max(committedSince, grewSince);
        if (behind.length === 0 && quiet > untickedMs) {
          throw new Error(
            `every record committed, but sessions stay pending (${state.pending.join(', ')} per partition) ` +
              `and no tick came for ${Math.round(quiet / 1000)} s (lastLogTime per partition: ${state.lastLogTimes.join(', ')})`,
          );
        }
      }
      if (Date.now() > deadline) {
        throw new Error(
          `timed out after ${timeoutMs} ms waiting for every record committed and no session pending`,
        );
      }
      await sleep(500);
    }
  }

  private async progress(): Promise<{
    committed: Map<number, number>;
    ends: Map<number, number>;
    pending: number[];
    lastLogTimes: (number | null)[];
  }> {
    const ends = await this.logEnds(0);
    const committed = await this.committedByPartition();
    const dynamo = this.dynamo();
    try {
      const parts = [...ends.keys()].sort((a, b) => a - b);
      const summaries = await readPartitionSummaries(dynamo, this.table, this.topic, parts);
      return {
        committed,
        ends,
        pending: summaries.map((s) => s.pendingSessions ?? 0),
        lastLogTimes: summaries.map((s) => s.lastLogTime),
      };
    } finally {
      dynamo.destroy();
    }
  }

  /** The job's last retried failure, for a message about a stalled partition. */
  private lastFailure(): string {
    const lines = (this.job?.output() ?? '').split('\n').filter((l) => l.includes('retrying the same batch'));
    const last = lines.at(-1);
    return last === undefined ? '' : `; the job's last failure: ${last.slice(0, 600)}`;
  }

  async judge(): Promise<Verdict> {
    const log = await readTopic(this.kafka('chaos-verify'), this.topic);
    return verify(this.pool, log, this.settings, { forged: this.forged });
  }

  async cleanup(): Promise<void> {
    await this.job?.stop('SIGKILL').catch(() => undefined);
    await this.single?.disconnect().catch(() => undefined);
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
  const own: Own = {};
  try {
    if (name === 'kafka-restart' || name === 'outage-backlog')
      own.kafka = await KafkaInstance.start(unique('kafka'));
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
      CHAOS_SETTINGS[options.settings],
      own.kafka?.brokers ?? shared.kafkaBrokers.join(','),
      own.dynamo?.endpoint ?? shared.dynamodbEndpoint,
      databaseUrl,
    );
    try {
      await rig.prepare();
      let notes: string[] = [];
      try {
        notes = await FAULTS[name](rig, own);
      } catch (error) {
        rig.problems.push((error as Error).message);
      }
      // A job that ended while the experiment still needed it (a crash, or a signal sent by
      // something else on the machine) explains a stall: say so.
      const exit = rig.job?.unexpectedExit();
      if (exit !== undefined) rig.problems.push(`the job ${exit}`);
      // The job is done (or failed): stop it before reading back, so nothing moves meanwhile.
      await rig.job?.stop('SIGKILL');
      const verdict = await rig.judge();
      const rowsOk = name === 'dynamodb-lost' ? lostStateOk(verdict, notes) : clean(verdict);
      if (verdict.ticksMidStream === 0) rig.problems.push('no idle tick landed mid-stream');
      const ok = rowsOk && rig.problems.length === 0;
      if (!ok) {
        // Keep the job's output for the post-mortem.
        const file = path.join(instanceDir('jobs'), `${name}-${rig.topic}.log`);
        mkdirSync(path.dirname(file), { recursive: true });
        writeFileSync(file, rig.job?.output() ?? '(no job)');
        rig.problems.push(`job output: ${file}`);
      }
      options.log(
        `${name} [${options.settings}]: ${describeVerdict(verdict)}` +
          `${ok ? '' : ` FAILED ${[...rig.problems, ...verdict.examples].join('; ')}`}`,
      );
      return {
        name,
        settings: options.settings,
        verdict,
        ok,
        seconds: (Date.now() - started) / 1000,
        notes,
        problems: rig.problems,
      };
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
 * After the checkpoint table is lost the job must stop, not go on counting from nothing, and say
 * why. Sessions it had not finished are missing or show the provisional row an idle tick wrote
 * (under-counted, or under a start a later join would have moved: inside the reference's session):
 * that is the point. Nothing may be over-counted, extra beyond that, or wrongly late.
 */
function lostStateOk(verdict: Verdict, notes: readonly string[]): boolean {
  return (
    notes.includes('CheckpointLost reported') &&
    notes.includes('committed offsets stopped') &&
    verdict.overCounted + (verdict.extra - verdict.extraInsideSessions) + verdict.wronglyLate === 0
  );
}

interface Own {
  kafka?: KafkaInstance;
  dynamo?: DynamoInstance;
  proxy?: FaultProxy;
}

type Fault = (rig: Rig, own: Own) => Promise<string[]>;

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

/** How long to wait for quiescence: long enough for a slow machine and the longest fault. */
const quiet = (rig: Rig) => 300_000 + rig.options.faultMs;

/**
 * A service broken at 40% of the events, for faultMs, then healed, while the job runs and events
 * flow; then every record committed and no session pending, the job still alive.
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
    rig.log(`${what} for ${rig.options.faultMs} ms`);
    await sleep(rig.options.faultMs);
    await healIt();
    rig.log('healed');
  });
  await rig.produce(fault.onProgress);
  await fault.done();
  await rig.quiescent(quiet(rig));
  if (rig.job?.child.exitCode !== null) throw new Error(`the job died (${what})`);
  return [`${what} for ${rig.options.faultMs} ms; the job kept running`];
}

/** No fault but the producer's: the job runs, the profile's producer produces, all is judged. */
async function plain(rig: Rig, onProgress?: (sent: number) => Promise<void>): Promise<string[]> {
  await rig.startJob();
  await rig.produce(onProgress);
  await rig.quiescent(quiet(rig));
  return [];
}

/** A user of the experiment's that lives in `partition` (users are spread by user mod partitions). */
const userOf = (rig: Rig, partition: number, k: number) =>
  partition +
  rig.options.partitions * (k % Math.max(1, Math.floor(rig.options.users / rig.options.partitions)));

const FAULTS: Record<ExperimentName, Fault> = {
  /** kill -9 of the whole job at random points of progress, started again each time. */
  kill: async (rig) => {
    const rnd = random(rig.options.seed + 1);
    await rig.startJob();
    const producing = rig.produce();
    for (let k = 0; k < rig.options.kills; k++) {
      const threshold = Math.floor(((k + rnd()) / (rig.options.kills + 1)) * rig.options.events);
      await until(
        `committed >= ${threshold}, the producer not silent`,
        async () => !rig.silent && (await rig.committed()) >= threshold,
        300_000,
      );
      await rig.job?.stop('SIGKILL');
      rig.log(`killed the job with SIGKILL at ${await rig.committed()} committed records`);
      await rig.startJob();
    }
    await producing;
    await rig.quiescent(quiet(rig));
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
    rig.log('DynamoDB Local restarted empty, the table created again');
    await producing;
    await until(
      'the job to report lost state',
      async () => (rig.job?.output() ?? '').includes('CHECKPOINT_LOST'),
      120_000,
    );
    notes.push('CheckpointLost reported');
    // Evidence that it stopped: for every partition the local trigger logs "<topic>-<p> PAUSED at
    // offset <n>" (offline/reader.ts: a non-retryable error pauses the partition and commits
    // nothing from <n> on), the group's committed offset is exactly <n>, and the log goes on past it.
    let paused = new Map<number, number>();
    const stopped = await until(
      'every partition paused at its committed offset',
      async () => {
        paused = pausedOffsets(rig.job?.output() ?? '', rig.topic);
        const committed = await rig.committedByPartition();
        const ends = await rig.logEnds(0);
        return [...ends].every(
          ([p, end]) =>
            paused.get(p) !== undefined && committed.get(p) === paused.get(p) && end > (paused.get(p) ?? end),
        );
      },
      120_000,
    ).then(
      () => true,
      (error: unknown) => {
        rig.problems.push((error as Error).message);
        return false;
      },
    );
    if (stopped) notes.push('committed offsets stopped');
    rig.log(`${notes.join(', ')} (paused at ${[...paused].map(([p, o]) => `${p}:${o}`).join(', ')})`);
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
    await rig.quiescent(quiet(rig) + 300_000);
    return [`partition 0 held ${rig.options.faultMs} ms per batch`];
  },

  /**
   * The producer's clock 15 s behind the sweep's: Kafka timestamps and event times both. The
   * records after the half-way ticks are stamped well before them; the ticks must not make them
   * late (the earlier idle rule moved the watermark by the tick's timestamp minus the records').
   */
  'clock-behind': (rig) => plain(rig).then(() => ['producer clock 15 s behind the sweep']),

  /** The producer's clock 15 s ahead of the sweep's: the ticks are stamped before the records. */
  'clock-ahead': (rig) => plain(rig).then(() => ['producer clock 15 s ahead of the sweep']),

  /**
   * A replay of history: CreateTime = event time, both 3 days old (a base 3 days back advancing
   * with the real clock). Every tick is stamped 3 days after the records around it.
   */
  history: (rig) => plain(rig).then(() => ['replay of events 3 days old']),

  /** The events shipped in bursts, 20 s of silence between them: ticks between the bursts. */
  bursts: (rig) => plain(rig).then(() => [`${Math.max(2, rig.options.bursts)} bursts, 20 s apart`]),

  /**
   * Forged ticks: at 60 % and 80 % of the events the experiment appends to every partition a tick
   * stamped 2100-01-01 and one stamped 1970-01-01T00:00:01Z. A tick that moved the watermark by its
   * timestamp would make every later record late (2100) or do nothing (1970); ticks must decide
   * only when rows appear. (After the half-way silence: a tick writes every session's row, and a
   * session with a row rewrites it at each join, so before it the sweep would find nothing to tick.)
   */
  'future-tick': (rig) => {
    const rounds = [0.6, 0.8];
    return plain(rig, async (sent) => {
      const next = rounds[0];
      if (next === undefined || sent < rig.options.events * next) return;
      rounds.shift();
      for (let p = 0; p < rig.options.partitions; p++) {
        for (const timestamp of ['4102444800000', '1000']) {
          const offset = await rig.sendOne({
            partition: p,
            value: null,
            headers: { [TICK_HEADER]: TICK_HEADER_VALUE },
            timestamp,
          });
          rig.forged.add(`${p}:${offset}`);
        }
      }
      rig.log(`forged ticks (2100 and 1970) appended to every partition at ${sent} events`);
    }).then(() => [`${rig.forged.size} forged ticks`]);
  },

  /**
   * A broker outage whose backlog lands after a tick. At 40 % of the events the experiment's own
   * broker is killed and the producer holds what it makes (records stamped with their time, as a
   * producer buffering through an outage would). The broker comes back after faultMs, but the
   * producer keeps holding until the sweep has appended an idle tick to every partition (the log
   * has been quiet for longer than the idle timeout); only then does the backlog go out, behind
   * the ticks, with Kafka timestamps and event times older than theirs.
   *
   * Asserted, besides the rows: the ticks landed before the backlog (else the run fails), the
   * judge saw events behind a newer tick (`eventsBehindTicks` > 0), and not one of the backlog's
   * on-time events is rejected as late: a tick must not move the watermark past records that were
   * produced before it but reached the log after it.
   */
  'outage-backlog': async (rig, own) => {
    await rig.startJob();
    let outage: Promise<void> | undefined;
    let held = false;
    await rig.produce(async (sent) => {
      if (outage !== undefined || sent < rig.options.events * 0.4) return;
      const since = await rig.logEnds();
      rig.hold();
      await own.kafka?.kill('SIGKILL');
      rig.log(`broker killed at ${sent} events; the producer holds its records`);
      outage = (async () => {
        try {
          await sleep(rig.options.faultMs);
          await own.kafka?.start();
          rig.log('broker back; holding until every partition got an idle tick');
          const unsettled = await rig.ticksLanded(since, 0, Math.max(120_000, rig.options.faultMs + 90_000));
          held = unsettled.length === 0;
          if (!held)
            rig.problems.push(`no idle tick in partition(s) ${unsettled.join(', ')} before the backlog`);
        } finally {
          rig.release();
        }
      })();
    });
    await outage;
    await rig.quiescent(quiet(rig));
    const verdictCheck = held ? 'the backlog landed after idle ticks' : 'the backlog was sent without ticks';
    return [`broker killed for ${rig.options.faultMs} ms; ${verdictCheck}`];
  },

  /**
   * Records with extreme Kafka timestamps (values.ts, POISON_TIMESTAMPS) at 30 % and 70 % of the
   * events: in every partition, for each timestamp, a good value and an unparseable one, each sent
   * on its own. The partition must not stall; good values count with their payload time (or, with
   * EVENT_TIME_SOURCE=kafka, are judged by that timestamp); the others are rejected with their
   * reason; the largest long reads as 2^63 and changes nothing for a good value.
   */
  'poison-timestamp': (rig) => {
    const rounds = [0.3, 0.7];
    let round = 0;
    return plain(rig, async (sent) => {
      const next = rounds[0];
      if (next === undefined || sent < rig.options.events * next) return;
      rounds.shift();
      round++;
      for (let p = 0; p < rig.options.partitions; p++) {
        for (const [i, timestamp] of POISON_TIMESTAMPS.entries()) {
          const user = userOf(rig, p, i + round);
          await rig.sendOne({
            partition: p,
            key: `user_${user}`,
            value: goodValue(user, rig.clock()),
            timestamp,
          });
          const bad = BAD_TEXTS[(i + round) % BAD_TEXTS.length] as string;
          await rig.sendOne({ partition: p, key: 'bad', value: bad, timestamp });
        }
      }
      rig.log(`records stamped ${POISON_TIMESTAMPS.join(', ')} sent to every partition at ${sent} events`);
    }).then(() => [`Kafka timestamps ${POISON_TIMESTAMPS.join(', ')}`]);
  },
};

/** The offsets the local trigger says it paused each partition of `topic` at. */
function pausedOffsets(output: string, topic: string): Map<number, number> {
  const paused = new Map<number, number>();
  const pattern = new RegExp(`${topic}-(\\d+) PAUSED at offset (\\d+)`, 'g');
  for (const match of output.matchAll(pattern)) paused.set(Number(match[1]), Number(match[2]));
  return paused;
}
