import { type Config, loadConfig } from '../config.ts';
import { loadValueSchema, SchemaValueDecoder } from '../parse/index.ts';
import { createWarmState, type PipelineDeps } from '../pipeline/index.ts';
import { type SecretReader, secretsManagerReader } from '../shared/index.ts';
import { createPool, DatabasePool, PostgresSink, resolveConnection } from '../sink/index.ts';
import { checkpointStore, dynamoClient } from './clients.ts';

export interface Runtime {
  readonly config: Config;
  readonly deps: PipelineDeps;
  /** The container's PostgreSQL pool (rebuilt when the database secret rotates). */
  readonly database: DatabasePool;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  /**
   * How the database secret (DATABASE_SECRET_ARN) is read: Secrets Manager through Powertools
   * Parameters unless a test gives a stand-in.
   */
  readonly readSecret?: SecretReader;
}

/**
 * Everything the Kafka handler needs, built once per container (outside the handler): the validated
 * configuration, one DynamoDB client, one PostgreSQL pool, the container's warm state. A bad setting
 * throws here, at start-up, with a message naming every bad setting.
 */
export function createRuntime(env: NodeJS.ProcessEnv = process.env, options: RuntimeOptions = {}): Runtime {
  const config = loadConfig(env);
  // An Avro or Protobuf schema is read once per container; a file that is missing or no schema
  // stops the cold start like any bad setting (docs/DESIGN.md section 2, "Schema formats").
  const values =
    config.value.format === 'text' ? undefined : new SchemaValueDecoder(loadValueSchema(config.value));
  const dynamo = dynamoClient(config, env);
  const readSecret = options.readSecret ?? secretsManagerReader(config.region);
  // The pool is built at the first write: on AWS that reads the database secret (a failed read is
  // retried by the next invocation), and read again when PostgreSQL refuses the credentials.
  const database = new DatabasePool(async (fresh) =>
    createPool(await resolveConnection(config, readSecret, { fresh }), config.databasePoolSize, {
      connectMs: 5_000,
      queryMs: config.databaseQueryTimeoutMs,
    }),
  );
  return {
    config,
    database,
    deps: {
      store: checkpointStore(config, dynamo),
      sink: new PostgresSink(database, { prepared: config.databasePreparedStatements }),
      values,
      settings: {
        engine: config.engine,
        eventTimeSource: config.eventTimeSource,
        fields: config.fields,
        maxFutureMs: config.maxFutureMs,
        stateTtlDays: config.stateTtlDays,
        journalMax: config.journalMax,
        memory: config.memory,
      },
      now: Date.now,
      warm: createWarmState(),
    },
    close: async () => {
      dynamo.destroy();
      await database.end();
    },
  };
}
