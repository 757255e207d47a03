import type pg from 'pg';
import { checkpointStore, dynamoClient } from './clients.ts';
import { type Config, loadConfig } from './config.ts';
import { createWarmState, type PipelineDeps } from './pipeline/index.ts';
import { createPool, PostgresSink, resolveConnection } from './sink/index.ts';

export interface Runtime {
  readonly config: Config;
  readonly deps: PipelineDeps;
  close(): Promise<void>;
}

/**
 * Everything the Kafka handler needs, built once per container (outside the handler): the validated
 * configuration, one DynamoDB client, one PostgreSQL pool, the container's warm state. A bad setting
 * throws here, at start-up, with a message naming every bad setting.
 */
export function createRuntime(env: NodeJS.ProcessEnv = process.env): Runtime {
  const config = loadConfig(env);
  const dynamo = dynamoClient(config, env);
  // The pool is built at the first write: on AWS that reads the database secret (once; a failed
  // read is retried by the next invocation).
  let pool: Promise<pg.Pool> | undefined;
  const getPool = (): Promise<pg.Pool> => {
    if (pool === undefined) {
      pool = resolveConnection(config).then((connection) =>
        createPool(connection, config.databasePoolSize, {
          connectMs: 5_000,
          queryMs: config.databaseQueryTimeoutMs,
        }),
      );
      pool.catch(() => {
        pool = undefined;
      });
    }
    return pool;
  };
  return {
    config,
    deps: {
      store: checkpointStore(config, dynamo),
      sink: new PostgresSink(getPool),
      settings: {
        engine: config.engine,
        eventTimeSource: config.eventTimeSource,
        maxFutureMs: config.maxFutureMs,
        stateTtlDays: config.stateTtlDays,
        journalMax: config.journalMax,
      },
      now: Date.now,
      warm: createWarmState(),
    },
    close: async () => {
      dynamo.destroy();
      if (pool !== undefined) await (await pool).end();
    },
  };
}
