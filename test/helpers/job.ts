import { ScanCommand } from '@aws-sdk/client-dynamodb';
import pg from 'pg';
import type { JobClients, JobTarget } from '../../scripts/job/target.ts';
import { uniqueName } from './names.ts';
import { createTestPipeline } from './pipeline.ts';
import { createTopic, settings, testKafka } from './services.ts';

/**
 * A local job of the test's own for `npm run reset` / `npm run status`: the handler's pipeline on
 * a checkpoint table and PostgreSQL schema of its own (createTestPipeline), a topic and a consumer
 * group with random names, the JobTarget naming them all, and connected clients (the PostgreSQL
 * one works in the schema).
 */
export async function createJobWorld(partitions = 1) {
  const pipeline = await createTestPipeline();
  const { topic, drop: dropTopic } = await createTopic(partitions, 'job');
  const databaseUrl = new URL(settings.databaseUrl);
  databaseUrl.searchParams.set('options', `-c search_path=${pipeline.schema}`);
  const target: JobTarget = {
    ...settings,
    topic,
    topicPartitions: partitions,
    checkpointTable: pipeline.table,
    databaseUrl: databaseUrl.toString(),
    group: uniqueName('job-group'),
  };
  const admin = testKafka('sessionizer-test-job').admin();
  await admin.connect();
  const db = new pg.Client({ connectionString: target.databaseUrl });
  await db.connect();
  const { dynamo } = pipeline;
  const clients: JobClients = { admin, dynamo, db };
  return {
    ...pipeline,
    target,
    clients,
    /** Items in the checkpoint table. */
    items: async () =>
      (await dynamo.send(new ScanCommand({ TableName: target.checkpointTable, Select: 'COUNT' }))).Count ?? 0,
    cleanup: async () => {
      await db.end();
      await admin.disconnect();
      await dropTopic();
      await pipeline.cleanup();
    },
  };
}
