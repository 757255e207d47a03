/**
 * The `msk` / `kafka` event definitions of serverless.yml, normalised with the defaults the AWS
 * event source mapping applies (docs/DESIGN.md section 7), plus the local settings of
 * custom.offline.kafka. Pure: no I/O, so the defaults are unit-tested.
 */

import { isPlainObject } from '../lib/decode/index.ts';
import { type FilterPattern, parseFilterPatterns } from './filter.ts';

export type StartingPosition = 'TRIM_HORIZON' | 'LATEST' | 'AT_TIMESTAMP';

/** One event source mapping to emulate: a function, a topic, a consumer group. */
export interface TriggerDefinition {
  readonly functionKey: string;
  readonly eventSource: 'aws:kafka' | 'SelfManagedKafka';
  /** The MSK cluster ARN (msk events); undefined for self-managed Kafka. */
  readonly eventSourceArn: string | undefined;
  readonly topic: string;
  readonly consumerGroupId: string;
  /** Records per invocation: AWS default 100, at most 10,000. */
  readonly batchSize: number;
  /** How long a batch may wait to fill, in milliseconds (serverless.yml says seconds). */
  readonly maximumBatchingWindowMs: number;
  readonly startingPosition: StartingPosition;
  /** Epoch milliseconds for AT_TIMESTAMP (serverless.yml says seconds). */
  readonly startingPositionTimestampMs: number | undefined;
  readonly enabled: boolean;
  /** Honour `batchItemFailures` in the response (FunctionResponseTypes: ReportBatchItemFailures). */
  readonly reportBatchItemFailures: boolean;
  /** Event filtering on the record value; empty: every record is delivered. */
  readonly filterPatterns: readonly FilterPattern[];
}

/** custom.offline: what stands in for the cloud side locally. */
export interface OfflineKafkaSettings {
  /** The local brokers that replace the cluster ARN / bootstrap servers. */
  readonly brokers: readonly string[];
  /**
   * Functions invoked on a short timer offline, instead of waiting for their schedule: key ->
   * seconds; 0 = the function does not run offline at all.
   */
  readonly schedules: Readonly<Record<string, number>>;
  /** Backoff between retries of a failed batch, in milliseconds. */
  readonly retryInitialMs: number;
  readonly retryMaxMs: number;
  /** Writes every delivered event there as JSON (debugging, tests); undefined = off. */
  readonly captureDir: string | undefined;
  /** Merged into every function's environment offline. */
  readonly environment: Readonly<Record<string, string>>;
  /**
   * Fault injection for tests and chaos runs: partition -> milliseconds each of its batches is held
   * before it is delivered (a partition starved while others are busy). Empty: none.
   */
  readonly stallMs: ReadonlyMap<number, number>;
  /**
   * The trigger's watchdog: a consumer whose fetch loop is silent this long while no batch is in
   * hand has stopped, and is started again (custom.offline.kafka.fetchStallMs; default 90 s).
   */
  readonly fetchStallMs: number;
}

/** The Lambda payload limit: a batch is cut before its event would exceed it. */
export const MAX_EVENT_BYTES = 6 * 1024 * 1024;
export const DEFAULT_BATCH_SIZE = 100;
export const MAX_BATCH_SIZE = 10_000;
export const DEFAULT_BATCHING_WINDOW_MS = 500;

export class DefinitionError extends Error {
  override readonly name = 'DefinitionError';
}

type Raw = Record<string, unknown>;

/**
 * The triggers of one function: one per `msk` or `kafka` event. `service` and `stage` make the
 * default consumer group stable per function (on AWS it is the mapping's UUID, also stable).
 */
export function normaliseTriggers(
  functionKey: string,
  events: readonly unknown[],
  context: { service: string; stage: string; region: string },
): TriggerDefinition[] {
  const triggers: TriggerDefinition[] = [];
  for (const event of events) {
    if (!isPlainObject(event)) continue;
    const msk = event.msk;
    const kafka = event.kafka;
    if (isPlainObject(msk)) triggers.push(normalise(functionKey, 'aws:kafka', msk, context));
    else if (isPlainObject(kafka)) triggers.push(normalise(functionKey, 'SelfManagedKafka', kafka, context));
  }
  return triggers;
}

function normalise(
  functionKey: string,
  eventSource: TriggerDefinition['eventSource'],
  raw: Raw,
  context: { service: string; stage: string; region: string },
): TriggerDefinition {
  const where = `function "${functionKey}", ${eventSource === 'aws:kafka' ? 'msk' : 'kafka'} event`;
  const topic = raw.topic;
  if (typeof topic !== 'string' || topic === '') throw new DefinitionError(`${where}: topic is required`);

  const batchSize = optionalInt(raw.batchSize, `${where}: batchSize`) ?? DEFAULT_BATCH_SIZE;
  if (batchSize < 1 || batchSize > MAX_BATCH_SIZE) {
    throw new DefinitionError(`${where}: batchSize must be 1..${MAX_BATCH_SIZE}, got ${batchSize}`);
  }
  // 0 or unset: the event source's default window (docs/DESIGN.md section 7).
  const windowSeconds = optionalInt(raw.maximumBatchingWindow, `${where}: maximumBatchingWindow`) ?? 0;
  const maximumBatchingWindowMs = windowSeconds > 0 ? windowSeconds * 1000 : DEFAULT_BATCHING_WINDOW_MS;

  const startingPosition = (raw.startingPosition ?? 'TRIM_HORIZON') as StartingPosition;
  if (!['TRIM_HORIZON', 'LATEST', 'AT_TIMESTAMP'].includes(startingPosition)) {
    throw new DefinitionError(`${where}: startingPosition must be TRIM_HORIZON, LATEST or AT_TIMESTAMP`);
  }
  const timestampSeconds = optionalInt(raw.startingPositionTimestamp, `${where}: startingPositionTimestamp`);
  if (startingPosition === 'AT_TIMESTAMP' && timestampSeconds === undefined) {
    throw new DefinitionError(`${where}: AT_TIMESTAMP needs startingPositionTimestamp (seconds)`);
  }

  const group = raw.consumerGroupId;
  const consumerGroupId =
    typeof group === 'string' && group !== '' ? group : `${context.service}-${context.stage}-${functionKey}`;

  // An unresolved intrinsic (Fn::ImportValue ...) has no value offline: a stand-in ARN keeps the
  // event shape exact.
  const arn = raw.arn;
  const eventSourceArn =
    eventSource === 'SelfManagedKafka'
      ? undefined
      : typeof arn === 'string' && arn !== ''
        ? arn
        : `arn:aws:kafka:${context.region}:000000000000:cluster/offline/${functionKey}`;

  let filterPatterns: FilterPattern[];
  try {
    filterPatterns = parseFilterPatterns(raw.filterPatterns);
  } catch (error) {
    throw new DefinitionError(`${where}: ${(error as Error).message}`);
  }

  const responseTypes = raw.functionResponseTypes;
  return {
    functionKey,
    eventSource,
    eventSourceArn,
    topic,
    consumerGroupId,
    batchSize,
    maximumBatchingWindowMs,
    startingPosition,
    startingPositionTimestampMs: timestampSeconds === undefined ? undefined : timestampSeconds * 1000,
    enabled: raw.enabled !== false && raw.enabled !== 'false',
    reportBatchItemFailures:
      Array.isArray(responseTypes) && responseTypes.includes('ReportBatchItemFailures'),
    filterPatterns,
  };
}

/**
 * custom.offline with defaults: `kafka.brokers` (or KAFKA_BROKERS), `kafka.retryInitialMs`,
 * `kafka.retryMaxMs`, and `schedules` (function key -> seconds).
 */
export function normaliseSettings(raw: unknown, env: NodeJS.ProcessEnv = process.env): OfflineKafkaSettings {
  const offline = isPlainObject(raw) ? raw : {};
  const r = isPlainObject(offline.kafka) ? offline.kafka : {};
  const brokersRaw = r.brokers ?? env.KAFKA_BROKERS ?? '127.0.0.1:9092';
  const brokers = (Array.isArray(brokersRaw) ? brokersRaw.map(String) : String(brokersRaw).split(','))
    .map((b) => b.trim())
    .filter((b) => b !== '');
  if (brokers.length === 0) throw new DefinitionError('custom.offline.kafka.brokers: no broker given');
  const schedules: Record<string, number> = {};
  if (isPlainObject(offline.schedules)) {
    for (const [key, value] of Object.entries(offline.schedules)) {
      const seconds = Number(value);
      if (!Number.isFinite(seconds) || seconds < 0) {
        throw new DefinitionError(`custom.offline.schedules.${key}: seconds >= 0 expected`);
      }
      // 0: the function does not run offline at all, neither on the short timer nor on its
      // `schedule` event (the plugin drops that event for every function listed here).
      schedules[key] = seconds;
    }
  }
  return {
    brokers,
    schedules,
    retryInitialMs: optionalInt(r.retryInitialMs, 'custom.offline.kafka.retryInitialMs') ?? 200,
    retryMaxMs: optionalInt(r.retryMaxMs, 'custom.offline.kafka.retryMaxMs') ?? 5000,
    captureDir: typeof r.captureDir === 'string' && r.captureDir !== '' ? r.captureDir : undefined,
    stallMs: parseStall(r.stall),
    fetchStallMs: optionalInt(r.fetchStallMs, 'custom.offline.kafka.fetchStallMs') ?? 90_000,
    environment: Object.fromEntries(
      Object.entries(isPlainObject(offline.environment) ? offline.environment : {})
        .filter(([, v]) => v !== undefined && v !== null)
        .map(([k, v]) => [k, String(v)]),
    ),
  };
}

/** "<partition>:<ms>[,<partition>:<ms>...]" (custom.offline.kafka.stall, OFFLINE_KAFKA_STALL). */
function parseStall(value: unknown): Map<number, number> {
  const stall = new Map<number, number>();
  if (value === undefined || value === null || value === '') return stall;
  for (const part of String(value).split(',')) {
    const [partition, ms] = part
      .split(':')
      .map((x) => optionalInt(x, `custom.offline.kafka.stall "${part}"`));
    if (partition === undefined || ms === undefined) {
      throw new DefinitionError(`custom.offline.kafka.stall: "${part}" is not <partition>:<ms>`);
    }
    stall.set(partition, ms);
  }
  return stall;
}

function optionalInt(value: unknown, what: string): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const n = typeof value === 'number' ? value : Number(String(value).trim());
  if (!Number.isSafeInteger(n) || n < 0) throw new DefinitionError(`${what} must be a whole number >= 0`);
  return n;
}
