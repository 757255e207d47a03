import { DeleteTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import pg from 'pg';
import { ensureCheckpointTable } from '../../lib/checkpoint/index.ts';
import { migrate } from '../../lib/sink/index.ts';
import { dynamoClient } from '../../scripts/services/dynamodb.ts';
import { createTopicsAndWait, kafkaClient } from '../../scripts/services/kafka.ts';
import { serviceSettings } from '../../scripts/services/settings.ts';
import { uniqueName } from './names.ts';

export const settings = serviceSettings();

export function testKafka(clientId = 'sessionizer-test') {
  return kafkaClient(settings, clientId);
}

export function testDynamo(): DynamoDBClient {
  return dynamoClient(settings);
}

/** A topic of the test's own; deleted by the returned cleanup. */
export async function createTopic(
  partitions = 1,
  prefix = 'test',
): Promise<{ topic: string; drop: () => Promise<void> }> {
  const topic = uniqueName(prefix);
  const admin = testKafka().admin();
  await admin.connect();
  await createTopicsAndWait(admin, [{ topic, numPartitions: partitions }]);
  await admin.disconnect();
  return {
    topic,
    drop: async () => {
      const a = testKafka().admin();
      await a.connect();
      await a.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await a.disconnect();
    },
  };
}

/** A checkpoint table of the test's own (same definition as the real one). */
export async function createCheckpointTable(
  client: DynamoDBClient,
): Promise<{ table: string; drop: () => Promise<void> }> {
  const table = uniqueName('ckpt');
  await ensureCheckpointTable(client, table);
  return { table, drop: async () => void (await client.send(new DeleteTableCommand({ TableName: table }))) };
}

/**
 * A PostgreSQL schema of the test's own with the project's tables, and a pool whose connections
 * use it (search_path), so the code under test runs its unqualified SQL there.
 */
export async function createSchema(): Promise<{ schema: string; pool: pg.Pool; drop: () => Promise<void> }> {
  const schema = uniqueName('t');
  const admin = new pg.Client({ connectionString: settings.databaseUrl });
  await admin.connect();
  await migrate(admin, schema);
  await admin.end();
  const pool = new pg.Pool({
    connectionString: settings.databaseUrl,
    options: `-c search_path=${schema}`,
    max: 4,
  });
  return {
    schema,
    pool,
    drop: async () => {
      await pool.end();
      const c = new pg.Client({ connectionString: settings.databaseUrl });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${c.escapeIdentifier(schema)} CASCADE`);
      await c.end();
    },
  };
}
