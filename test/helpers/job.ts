import { ScanCommand } from '@aws-sdk/client-dynamodb';
import pg from 'pg';
import type { JobClients, JobTarget } from '../../scripts/job/target.ts';
import { uniqueName } from './names.ts';
import {
  createCheckpointTable,
  createSchema,
  createTopic,
  settings,
  testDynamo,
  testKafka,
} from './services.ts';

/**
 * A local job of the test's own for `npm run reset` / `npm run status`: topic, consumer group,
 * checkpoint table and PostgreSQL schema with random names, the JobTarget naming them, and
 * connected clients (the PostgreSQL one works in the schema).
 */
export async function createJobWorld(partitions = 1) {
  const { topic, drop: dropTopic } = await createTopic(partitions, 'job');
  const dynamo = testDynamo();
  const { table, drop: dropTable } = await createCheckpointTable(dynamo);
  const { schema, pool, drop: dropSchema } = await createSchema();
  const databaseUrl = new URL(settings.databaseUrl);
  databaseUrl.searchParams.set('options', `-c search_path=${schema}`);
  const target: JobTarget = {
    ...settings,
    topic,
    topicPartitions: partitions,
    checkpointTable: table,
    databaseUrl: databaseUrl.toString(),
    group: uniqueName('job-group'),
  };
  const admin = testKafka('sessionizer-test-job').admin();
  await admin.connect();
  const db = new pg.Client({ connectionString: target.databaseUrl });
  await db.connect();
  const clients: JobClients = { admin, dynamo, db };
  return {
    target,
    clients,
    pool,
    /** Items in the checkpoint table. */
    items: async () => (await dynamo.send(new ScanCommand({ TableName: table, Select: 'COUNT' }))).Count ?? 0,
    cleanup: async () => {
      await db.end();
      await dropSchema();
      await dropTable().catch(() => undefined);
      await dropTopic();
      await admin.disconnect();
      dynamo.destroy();
    },
  };
}
