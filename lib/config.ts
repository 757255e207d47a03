import { getHeapStatistics } from 'node:v8';
import { z } from 'zod';
import { DEFAULTS } from './defaults.ts';
import type { EngineConfig } from './engine/index.ts';
import { ConfigError } from './errors.ts';
import { LOG_LEVELS } from './log.ts';
import { DEFAULT_FIELDS, type FieldMapping, fieldPathProblem, type ValueSettings } from './parse/index.ts';
import { shownSetting } from './shared/index.ts';
import type { KafkaConnectionSettings } from './sweep/index.ts';

/**
 * The job's settings, read from the environment once per container and validated together: a
 * bad setting stops start-up with one message that names every bad setting.
 */
export interface Config {
  readonly engine: EngineConfig;
  readonly eventTimeSource: 'payload' | 'kafka';
  /** Where the user id and the event time are in an object value (docs/DESIGN.md section 2). */
  readonly fields: FieldMapping;
  /** How values are written: text (two fields or JSON), or Avro / Protobuf with their schema. */
  readonly value: ValueSettings;
  /** The future-timestamp guard (lib/kafka/checks.ts); undefined = off, Flink-exact. */
  readonly maxFutureMs: number | undefined;
  readonly topic: string;
  readonly idleFlush: boolean;
  readonly idleTimeoutMs: number;
  readonly checkpointTable: string;
  readonly dynamodbEndpoint: string | undefined;
  readonly region: string;
  readonly stateTtlDays: number;
  readonly journalMax: number;
  /** The container's memory and how much of it partitions' state may keep (docs/DEPLOY.md, "Sizing"). */
  readonly memory: MemorySettings;
  /** How the sweep reaches Kafka to append idle ticks (lib/kafka/connection.ts). */
  readonly kafka: KafkaConnectionSettings;
  readonly databaseUrl: string;
  readonly databaseSecretArn: string | undefined;
  readonly databaseSsl: 'off' | 'require' | 'verify-full';
  readonly databasePoolSize: number;
  readonly databaseQueryTimeoutMs: number;
  /** The sink's statements as named prepared statements (lib/sink/postgres-sink.ts); off behind RDS Proxy. */
  readonly databasePreparedStatements: boolean;
}

export interface MemorySettings {
  /**
   * The container's memory in bytes: the function's (AWS_LAMBDA_FUNCTION_MEMORY_SIZE, which Lambda
   * sets), else V8's heap limit (NODE_OPTIONS=--max-old-space-size, or Node's default).
   */
  readonly limitBytes: number;
  /**
   * WARM_CACHE_MB: the partitions' state a warm container keeps between batches, in bytes; past it
   * the least recently used partitions are forgotten (read back from the checkpoint when they come
   * again). Default: half of limitBytes.
   */
  readonly warmCacheBytes: number;
}

const MB = 2 ** 20;

/** A whole number of at least `min` (at most `max`), `fallback` when unset. */
const int = (min: number, fallback: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined) return fallback;
      const value = Number(raw.trim());
      if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
        const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
        ctx.addIssue({ code: 'custom', message: `must be a whole number ${range}` });
        return z.NEVER;
      }
      return value;
    });

/** true/false (also 1/0, on/off, yes/no), `fallback` when unset. */
const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'on', 'off', 'yes', 'no'], { message: 'must be true or false' })
    .optional()
    .transform((v) => (v === undefined ? fallback : ['true', '1', 'on', 'yes'].includes(v)));

const logLevel = z
  .string()
  .optional()
  .refine((v) => v === undefined || (LOG_LEVELS as readonly string[]).includes(v.trim().toLowerCase()), {
    message: `must be one of ${LOG_LEVELS.join(', ')}`,
  });

/** A dotted path into an object value (USER_ID_FIELD, EVENT_TIME_FIELD), `fallback` when unset. */
const fieldPath = (fallback: string) =>
  z
    .string()
    .trim()
    .default(fallback)
    .superRefine((path, ctx) => {
      const problem = fieldPathProblem(path);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
    });

const fields = z.object({
  SESSION_GAP_MS: int(1, 5000),
  OUT_OF_ORDERNESS_MS: int(0, 0),
  ALLOWED_LATENESS_MS: int(0, 0),
  EVENT_TIME_SOURCE: z
    .enum(['payload', 'kafka'], { message: 'must be "payload" or "kafka"' })
    .default('payload'),
  USER_ID_FIELD: fieldPath(DEFAULT_FIELDS.userIdField),
  EVENT_TIME_FIELD: fieldPath(DEFAULT_FIELDS.eventTimeField),
  EVENT_TIME_UNIT: z
    .enum(['ms', 's'], { message: 'must be "ms" (epoch milliseconds) or "s" (epoch seconds)' })
    .default(DEFAULT_FIELDS.eventTimeUnit),
  VALUE_FORMAT: z
    .enum(['text', 'avro', 'protobuf'], { message: 'must be text, avro or protobuf' })
    .default('text'),
  VALUE_SCHEMA_FILE: z.string().trim().optional(),
  VALUE_SCHEMA_MESSAGE: z.string().trim().optional(),
  // Confluent schema ids (decimal) and AWS Glue schema version ids (UUIDs), comma-separated.
  VALUE_SCHEMA_IDS: z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined) return undefined;
      const ids = raw.split(',').map((id) => id.trim().toLowerCase());
      if (
        ids.some(
          (id) => !/^(\d{1,10}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/.test(id),
        )
      ) {
        ctx.addIssue({
          code: 'custom',
          message:
            'must be Confluent schema ids (numbers) or AWS Glue schema version ids (UUIDs), comma-separated',
        });
        return z.NEVER;
      }
      return ids;
    }),
  // Unset: no future-timestamp guard (Flink-exact). int() gives its fallback for an unset value;
  // optional() answers undefined before it is asked.
  MAX_FUTURE_MS: int(0, 0).optional(),
  KAFKA_TOPIC: z.string().trim().min(1).default(DEFAULTS.KAFKA_TOPIC),
  IDLE_FLUSH: bool(true),
  IDLE_TIMEOUT_MS: int(1, 5_000),
  CHECKPOINT_TABLE: z
    .string()
    .trim()
    .regex(/^[a-zA-Z0-9_.-]{3,255}$/, 'must be a DynamoDB table name')
    .default(DEFAULTS.CHECKPOINT_TABLE),
  DYNAMODB_ENDPOINT: z.url({ message: 'must be a URL' }).optional(),
  AWS_REGION: z.string().trim().min(1).default(DEFAULTS.AWS_REGION),
  STATE_TTL_DAYS: int(2, 30),
  CHECKPOINT_JOURNAL_MAX: int(1, 32, 1000),
  // Unset: half of the container's memory (MemorySettings). Set by Lambda, read for the default.
  WARM_CACHE_MB: int(1, 0).optional(),
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE: int(1, 0).optional(),
  KAFKA_BROKERS: z
    .string()
    .trim()
    .regex(/^[^\s,]+:\d+(,[^\s,]+:\d+)*$/, 'must be host:port[,host:port...]')
    .optional(),
  MSK_CLUSTER_ARN: z
    .string()
    .trim()
    .regex(/^arn:aws[a-z-]*:kafka:/, 'must be an MSK cluster ARN')
    .optional(),
  KAFKA_AUTH: z
    .enum(['none', 'iam', 'sasl-scram-512', 'mtls'], { message: 'must be none, iam, sasl-scram-512 or mtls' })
    .default('none'),
  KAFKA_AUTH_SECRET_ARN: z
    .string()
    .trim()
    .regex(/^arn:aws[a-z-]*:secretsmanager:/, 'must be a Secrets Manager secret ARN')
    .optional(),
  DATABASE_URL: z
    .string()
    .trim()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .default(DEFAULTS.DATABASE_URL),
  DATABASE_SECRET_ARN: z
    .string()
    .trim()
    .regex(/^arn:aws[a-z-]*:secretsmanager:/, 'must be a Secrets Manager secret ARN')
    .optional(),
  DATABASE_SSL: z
    .enum(['off', 'require', 'verify-full'], { message: 'must be off, require or verify-full' })
    .optional(),
  DATABASE_POOL_SIZE: int(1, 2),
  DATABASE_QUERY_TIMEOUT_MS: int(100, 20_000),
  DATABASE_PREPARED_STATEMENTS: bool(true),
  // Read by the logger (log.ts) before this runs; checked here so a typo stops start-up.
  LOG_LEVEL: logLevel,
  POWERTOOLS_LOG_LEVEL: logLevel,
});

const SCHEMA_EXTENSION = { avro: '.avsc', protobuf: '.proto' } as const;

/**
 * Settings that only make sense together: how the sweep reaches Kafka (lib/kafka/connection.ts),
 * and a schema format's file and ids (docs/DESIGN.md section 2).
 */
const schema = fields.superRefine((c, ctx) => {
  if (c.VALUE_FORMAT === 'text') {
    for (const key of ['VALUE_SCHEMA_FILE', 'VALUE_SCHEMA_MESSAGE', 'VALUE_SCHEMA_IDS'] as const) {
      if (c[key] !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: 'is only read with VALUE_FORMAT=avro or protobuf',
        });
      }
    }
  } else {
    const extension = SCHEMA_EXTENSION[c.VALUE_FORMAT];
    if (c.VALUE_SCHEMA_FILE === undefined || !c.VALUE_SCHEMA_FILE.endsWith(extension)) {
      ctx.addIssue({
        code: 'custom',
        path: ['VALUE_SCHEMA_FILE'],
        message: `must name the ${extension} file of the schema, in the package, with VALUE_FORMAT=${c.VALUE_FORMAT}`,
      });
    }
    if (c.VALUE_SCHEMA_IDS === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['VALUE_SCHEMA_IDS'],
        message: `is required with VALUE_FORMAT=${c.VALUE_FORMAT}: the registry ids the schema file stands for`,
      });
    }
    if (c.VALUE_FORMAT === 'avro' && c.VALUE_SCHEMA_MESSAGE !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['VALUE_SCHEMA_MESSAGE'],
        message: 'is only read with VALUE_FORMAT=protobuf',
      });
    }
  }
  if (
    (c.KAFKA_AUTH === 'sasl-scram-512' || c.KAFKA_AUTH === 'mtls') &&
    c.KAFKA_AUTH_SECRET_ARN === undefined
  ) {
    ctx.addIssue({
      code: 'custom',
      path: ['KAFKA_AUTH_SECRET_ARN'],
      message: `is required with KAFKA_AUTH=${c.KAFKA_AUTH} (the secret with the credentials)`,
    });
  }
  if (c.KAFKA_AUTH === 'iam' && c.MSK_CLUSTER_ARN === undefined && c.KAFKA_BROKERS === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['MSK_CLUSTER_ARN'],
      message: 'is required with KAFKA_AUTH=iam (or KAFKA_BROKERS)',
    });
  }
  const memoryMb = c.AWS_LAMBDA_FUNCTION_MEMORY_SIZE;
  if (c.WARM_CACHE_MB !== undefined && memoryMb !== undefined && c.WARM_CACHE_MB >= memoryMb) {
    ctx.addIssue({
      code: 'custom',
      path: ['WARM_CACHE_MB'],
      message:
        `must be below the function's memory (${memoryMb} MB): the batch in hand needs the rest ` +
        '(docs/DEPLOY.md, "Sizing")',
    });
  }
});

/**
 * Settings only the local tools read: the service scripts (KAFKA_TOPIC_PARTITIONS) and the
 * offline trigger (OFFLINE_*, serverless.yml custom.offline). `npm start` checks them with the
 * job's settings, before anything starts, so a typo there stops it with the same one message.
 */
const localSchema = z.object({
  KAFKA_TOPIC_PARTITIONS: int(1, 1, 10_000),
  OFFLINE_SWEEP_INTERVAL_SECONDS: int(0, DEFAULTS.OFFLINE_SWEEP_INTERVAL_SECONDS),
  OFFLINE_RETRY_INITIAL_MS: int(0, 200),
  OFFLINE_RETRY_MAX_MS: int(0, 5000),
  OFFLINE_KAFKA_FETCH_STALL_MS: int(1000, 90_000),
});

type Parsed<S extends z.ZodObject> =
  | { data: z.output<S>; problems: [] }
  | { data: undefined; problems: string[] };

/**
 * Parses the schema's keys of `env` (an empty value counts as unset); every problem as
 * `KEY="value": why`, the value as shownSetting allows (no secret, no password of a URL).
 */
function parseEnv<S extends z.ZodObject>(schema: S, env: NodeJS.ProcessEnv): Parsed<S> {
  const input = Object.fromEntries(
    Object.keys(schema.shape).flatMap((key) => {
      const value = env[key];
      return value === undefined || value === '' ? [] : [[key, value]];
    }),
  );
  const parsed = schema.safeParse(input);
  if (parsed.success) return { data: parsed.data, problems: [] };
  const problems = parsed.error.issues.map((issue) => {
    const key = String(issue.path[0] ?? '?');
    return `${key}=${shownSetting(key, env[key] ?? '')}: ${issue.message}`;
  });
  return { data: undefined, problems };
}

function invalid(problems: readonly string[]): ConfigError {
  return new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
}

/**
 * The job's settings and the local tools' settings together (`npm start`, before it starts
 * anything): throws one ConfigError naming every bad setting of both.
 */
export function loadLocalConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems = [...parseEnv(schema, env).problems, ...parseEnv(localSchema, env).problems];
  if (problems.length > 0) throw invalid(problems);
  return loadConfig(env);
}

/** Reads and validates the configuration; throws ConfigError naming every bad setting. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = parseEnv(schema, env);
  if (parsed.data === undefined) throw invalid(parsed.problems);
  const c = parsed.data;
  return {
    engine: {
      gapMs: c.SESSION_GAP_MS,
      outOfOrdernessMs: c.OUT_OF_ORDERNESS_MS,
      allowedLatenessMs: c.ALLOWED_LATENESS_MS,
      idleFlush: c.IDLE_FLUSH,
    },
    eventTimeSource: c.EVENT_TIME_SOURCE,
    fields: {
      userIdField: c.USER_ID_FIELD,
      eventTimeField: c.EVENT_TIME_FIELD,
      eventTimeUnit: c.EVENT_TIME_UNIT,
    },
    value:
      c.VALUE_FORMAT === 'text'
        ? { format: 'text' }
        : {
            format: c.VALUE_FORMAT,
            schemaFile: c.VALUE_SCHEMA_FILE as string,
            schemaMessage: c.VALUE_SCHEMA_MESSAGE,
            schemaIds: c.VALUE_SCHEMA_IDS as string[],
          },
    maxFutureMs: c.MAX_FUTURE_MS,
    topic: c.KAFKA_TOPIC,
    idleFlush: c.IDLE_FLUSH,
    idleTimeoutMs: c.IDLE_TIMEOUT_MS,
    checkpointTable: c.CHECKPOINT_TABLE,
    dynamodbEndpoint: c.DYNAMODB_ENDPOINT,
    region: c.AWS_REGION,
    stateTtlDays: c.STATE_TTL_DAYS,
    journalMax: c.CHECKPOINT_JOURNAL_MAX,
    memory: memorySettings(c.AWS_LAMBDA_FUNCTION_MEMORY_SIZE, c.WARM_CACHE_MB),
    kafka: {
      auth: c.KAFKA_AUTH,
      // Locally the default brokers; on AWS MSK_CLUSTER_ARN names the cluster instead.
      brokers: (c.KAFKA_BROKERS ?? (c.MSK_CLUSTER_ARN === undefined ? DEFAULTS.KAFKA_BROKERS : ''))
        .split(',')
        .filter((b) => b !== ''),
      mskClusterArn: c.MSK_CLUSTER_ARN,
      authSecretArn: c.KAFKA_AUTH_SECRET_ARN,
      region: c.AWS_REGION,
    },
    databaseUrl: c.DATABASE_URL,
    databaseSecretArn: c.DATABASE_SECRET_ARN,
    // A database behind a secret is a cloud database: TLS with a verified certificate by default.
    databaseSsl: c.DATABASE_SSL ?? (c.DATABASE_SECRET_ARN === undefined ? 'off' : 'verify-full'),
    databasePoolSize: c.DATABASE_POOL_SIZE,
    databaseQueryTimeoutMs: c.DATABASE_QUERY_TIMEOUT_MS,
    databasePreparedStatements: c.DATABASE_PREPARED_STATEMENTS,
  };
}

/** The container's memory (Lambda's setting, else V8's heap limit) and the warm cache's share of it. */
function memorySettings(functionMb: number | undefined, warmCacheMb: number | undefined): MemorySettings {
  const limitBytes = functionMb !== undefined ? functionMb * MB : getHeapStatistics().heap_size_limit;
  return {
    limitBytes,
    warmCacheBytes: warmCacheMb !== undefined ? warmCacheMb * MB : Math.floor(limitBytes / 2),
  };
}
