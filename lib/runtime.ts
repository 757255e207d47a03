import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type pg from 'pg';
import { DynamoCheckpointStore } from './checkpoint/index.ts';
import { type Config, loadConfig } from './config.ts';
import type { PipelineDeps } from './pipeline/index.ts';
import { createPool, PostgresSink, resolveConnection } from './sink/index.ts';

export interface Runtime {
  readonly config: Config;
  readonly deps: PipelineDeps;
  close(): Promise<void>;
}

/**
 * Everything a handler needs, built once per container (outside the handler): the validated
 * configuration, one DynamoDB client, one PostgreSQL pool. A bad setting throws here, at
 * start-up, with a message naming every bad setting.
 */
export function createRuntime(env: NodeJS.ProcessEnv = process.env): Runtime {
  const config = loadConfig(env);
  const dynamo = new DynamoDBClient({
    region: config.region,
    maxAttempts: 3,
    ...(config.dynamodbEndpoint === undefined
      ? {}
      : {
          endpoint: config.dynamodbEndpoint,
          // DynamoDB Local accepts any credentials but the SDK insists on having some.
          credentials: {
            accessKeyId: env.AWS_ACCESS_KEY_ID ?? 'local',
            secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? 'local',
          },
        }),
  });
  // The pool is built at the first write: on AWS that reads the database secret (once; a failed
  // read is retried by the next invocation).
  let pool: Promise<pg.Pool> | undefined;
  const getPool = (): Promise<pg.Pool> => {
    if (pool === undefined) {
      pool = resolveConnection(config).then((connection) => createPool(connection, config.databasePoolSize));
      pool.catch(() => {
        pool = undefined;
      });
    }
    return pool;
  };
  const store = new DynamoCheckpointStore(dynamo, {
    table: config.checkpointTable,
    dueIndexShards: config.dueIndexShards,
    stateTtlDays: config.stateTtlDays,
  });
  return {
    config,
    deps: {
      store,
      sink: new PostgresSink(getPool),
      settings: {
        engine: config.engine,
        eventTimeSource: config.eventTimeSource,
        idleFlush: config.idleFlush,
        idleTimeoutMs: config.idleTimeoutMs,
        sweepLeaseMs: config.sweepLeaseMs,
      },
      now: Date.now,
    },
    close: async () => {
      dynamo.destroy();
      if (pool !== undefined) await (await pool).end();
    },
  };
}
