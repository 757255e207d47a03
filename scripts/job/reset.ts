/**
 * A clean slate for the local job, in seconds and with the services up: its topic recreated with
 * the same partition count (so every consumer group's offsets for it go too), its checkpoint table
 * deleted and recreated empty, the project's PostgreSQL tables truncated. The fences in
 * sink_fences go with the rows: they are what makes a fresh checkpoint table valid.
 */
import {
  DeleteTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceNotFoundException,
  waitUntilTableNotExists,
} from '@aws-sdk/client-dynamodb';
import type { Admin } from 'kafkajs';
import { ensureCheckpointTable } from '../../lib/checkpoint/index.ts';
import { redactUrl } from '../../lib/shared/index.ts';
import { createTopicsAndWait } from '../services/kafka.ts';
import { activeMembers, groupsWithOffsets, type Member, topicOffsets } from './kafka.ts';
import { truncateProjectTables } from './postgres.ts';
import { type JobClients, type JobTarget, remoteEndpoints } from './target.ts';

/** The reset did not start: nothing was changed. */
export class ResetRefused extends Error {
  override readonly name = 'ResetRefused';
}

export interface ResetOptions {
  /** Reset even though the job's consumer group has members reading the topic. */
  readonly force: boolean;
  /** How long to wait for Kafka to drop the deleted topic's offsets and for the new topic. */
  readonly timeoutMs?: number;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const describeMember = (m: Member) => `${m.clientId} on ${m.clientHost}`;

export async function resetJob(
  target: JobTarget,
  clients: JobClients,
  options: ResetOptions,
  log: (line: string) => void = console.log,
): Promise<void> {
  const remote = remoteEndpoints(target);
  if (remote.length > 0) {
    throw new ResetRefused(
      `it resets local services only and never touches AWS or another machine: ${remote.join('; ')}`,
    );
  }
  const { admin, dynamo, db } = clients;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const members = await activeMembers(admin, target.group, target.topic);
  if (members.length > 0 && !options.force) {
    throw new ResetRefused(
      `the job is running: group ${target.group} has ${plural(members.length, 'member')} reading ` +
        `${target.topic} (${members.map(describeMember).join(', ')}). Stop it (Ctrl-C where npm start ` +
        'runs) and reset again, or reset with --force and restart the job afterwards.',
    );
  }
  log(
    `resetting the local job: topic ${target.topic} (group ${target.group}) on ${target.kafkaBrokers.join(',')}, ` +
      `table ${target.checkpointTable} on ${target.dynamodbEndpoint}, database ${redactUrl(target.databaseUrl)}`,
  );
  if (members.length > 0) {
    log(`warning    the job is running (--force): restart it, its consumer still holds the old positions`);
  }

  await resetTopic(target, admin, { timeoutMs, running: members.length > 0 }, log);
  await resetTable(target, dynamo, log);
  const { truncated, missing } = await truncateProjectTables(db);
  const emptied = truncated.map((t) => `${t.table} (${plural(t.rows, 'row')})`).join(', ');
  log(
    `postgres   ${truncated.length > 0 ? `truncated ${emptied}` : 'no project table to truncate'}` +
      (missing.length > 0 ? `; not in this database: ${missing.join(', ')}` : ''),
  );
}

async function resetTopic(
  target: JobTarget,
  admin: Admin,
  { timeoutMs, running }: { timeoutMs: number; running: boolean },
  log: (line: string) => void,
): Promise<void> {
  const { topic } = target;
  const before = await topicOffsets(admin, topic);
  const holders = await groupsWithOffsets(admin, topic);
  const partitions = before?.length ?? target.topicPartitions;
  if (before === null) {
    log(`kafka      topic ${topic} did not exist`);
  } else {
    const records = before.reduce((sum, p) => sum + (p.high - p.low), 0);
    await admin.deleteTopics({ topics: [topic], timeout: timeoutMs });
    log(
      `kafka      topic ${topic} deleted (${plural(partitions, 'partition')}, ${plural(records, 'record')})`,
    );
  }
  // Kafka drops the committed offsets of a deleted topic's partitions from every group, shortly
  // after the deletion; wait for it, so the new topic starts without any. A running job (--force)
  // may commit again at once: then do not wait long.
  const deadline = Date.now() + (running ? Math.min(timeoutMs, 3000) : timeoutMs);
  let left = holders;
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    left = await groupsWithOffsets(admin, topic);
  }
  for (const h of holders) {
    const at = h.partitions.map((p) => `partition ${p.partition} at ${p.offset}`).join(', ');
    const gone = !left.some((l) => l.group === h.group);
    log(
      `kafka      group ${h.group}: committed offsets ${gone ? 'removed' : 'still there (committed again?)'} (${at})`,
    );
  }
  if (holders.length === 0) log('kafka      no consumer group had committed offsets on it');
  log(`kafka      topic ${topic} ${await createTopic(admin, topic, partitions)}`);
}

/**
 * Creates the topic. When it exists already, a client re-created it right after the deletion
 * (the local broker auto-creates topics, as the reference lab's console producer expects):
 * fine if it has the partitions, otherwise it gets them (a topic's partitions can only grow).
 */
async function createTopic(admin: Admin, topic: string, partitions: number): Promise<string> {
  const created = await createTopicsAndWait(admin, [
    { topic, numPartitions: partitions, replicationFactor: 1 },
  ]);
  if (created) return `created with ${plural(partitions, 'partition')}, empty`;
  const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
  const has = topics[0]?.partitions.length ?? 0;
  if (has > partitions) {
    throw new Error(
      `topic ${topic} was re-created by a client with ${has} partitions instead of ${partitions}`,
    );
  }
  if (has < partitions) {
    await admin.createPartitions({ topicPartitions: [{ topic, count: partitions }] });
  }
  return `re-created by a client (auto-create) at once; it has ${plural(partitions, 'partition')}`;
}

async function resetTable(
  target: JobTarget,
  dynamo: DynamoDBClient,
  log: (line: string) => void,
): Promise<void> {
  const TableName = target.checkpointTable;
  let items: number | undefined;
  try {
    const { Table } = await dynamo.send(new DescribeTableCommand({ TableName }));
    items = Table?.ItemCount ?? 0;
    await dynamo.send(new DeleteTableCommand({ TableName }));
    await waitUntilTableNotExists({ client: dynamo, maxWaitTime: 60, minDelay: 1 }, { TableName });
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
  }
  await ensureCheckpointTable(dynamo, TableName);
  log(
    `dynamodb   table ${TableName} ${items === undefined ? 'did not exist' : `deleted (${plural(items, 'item')})`}; ` +
      'created again, empty',
  );
}
