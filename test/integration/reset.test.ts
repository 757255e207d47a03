import { DescribeTableCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { Consumer } from 'kafkajs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkpointTableDefinition } from '../../lib/checkpoint/index.ts';
import { committed, groupsWithOffsets, topicOffsets } from '../../scripts/job/kafka.ts';
import { ResetRefused, resetJob } from '../../scripts/job/reset.ts';
import { createJobWorld } from '../helpers/job.ts';
import { uniqueName } from '../helpers/names.ts';
import { testKafka } from '../helpers/services.ts';
import { waitFor } from '../helpers/wait-for.ts';

type World = Awaited<ReturnType<typeof createJobWorld>>;

/** Records in the topic, committed offsets for two groups, checkpoint items, rows in every table. */
async function fill(w: World): Promise<string> {
  const { target, clients, pool } = w;
  const producer = testKafka().producer();
  await producer.connect();
  await producer.send({
    topic: target.topic,
    messages: ['user_A,1000', 'user_B,1000', 'user_A,2000'].map((value, i) => ({ value, partition: i % 2 })),
  });
  await producer.disconnect();
  const other = uniqueName('other-group');
  // In parallel: kafkajs commits them through a short-lived group member, seconds each.
  await Promise.all(
    [target.group, other].map((groupId) =>
      clients.admin.setOffsets({
        groupId,
        topic: target.topic,
        partitions: [
          { partition: 0, offset: '2' },
          { partition: 1, offset: '1' },
        ],
      }),
    ),
  );
  await clients.dynamo.send(
    new PutItemCommand({
      TableName: target.checkpointTable,
      Item: { pk: { S: `P#${target.topic}#0` }, version: { N: '3' } },
    }),
  );
  await pool.query(
    `INSERT INTO aggregated_counts VALUES ('user_A|1970-01-01T00:00:01.000Z', 2, '1970-01-01 00:00:07')`,
  );
  await pool.query(
    `INSERT INTO rejected_events (topic, kafka_partition, kafka_offset, raw_value, raw_encoding, reason, detail)
     VALUES ($1, 0, 5, 'user_A,1', 'utf8', 'late', 'late')`,
    [target.topic],
  );
  await pool.query('INSERT INTO sink_fences VALUES ($1, 0, 7)', [target.topic]);
  return other;
}

const rowCounts = async (w: World) =>
  (
    await w.pool.query(`SELECT (SELECT count(*) FROM aggregated_counts)::int AS aggregated,
                               (SELECT count(*) FROM rejected_events)::int AS rejected,
                               (SELECT count(*) FROM sink_fences)::int AS fences`)
  ).rows[0];

describe('npm run reset against the real services', () => {
  let w: World;
  beforeEach(async () => {
    w = await createJobWorld(2);
  });
  afterEach(async () => w.cleanup());

  it('recreates the topic with its partitions, drops every group offset, empties the table and the rows', async () => {
    // Prepare
    const other = await fill(w);
    const lines: string[] = [];

    // Act
    await resetJob(w.target, w.clients, { force: false }, (line) => lines.push(line));

    // Assess
    expect(await topicOffsets(w.clients.admin, w.target.topic)).toEqual([
      { partition: 0, low: 0, high: 0 },
      { partition: 1, low: 0, high: 0 },
    ]);
    expect(await groupsWithOffsets(w.clients.admin, w.target.topic)).toEqual([]);
    expect(await committed(w.clients.admin, other, w.target.topic)).toEqual([]);
    expect(await w.items()).toBe(0);
    const { Table } = await w.clients.dynamo.send(
      new DescribeTableCommand({ TableName: w.target.checkpointTable }),
    );
    // Created by ensureCheckpointTable, whatever the layout of the day.
    const definition = checkpointTableDefinition(w.target.checkpointTable);
    expect(Table?.KeySchema).toEqual(definition.KeySchema);
    expect(Table?.GlobalSecondaryIndexes?.map((i) => i.IndexName)).toEqual(
      definition.GlobalSecondaryIndexes?.map((i) => i.IndexName),
    );
    expect(await rowCounts(w)).toEqual({ aggregated: 0, rejected: 0, fences: 0 });
    const said = lines.join('\n');
    expect(said).toContain(`topic ${w.target.topic} deleted (2 partitions, 3 records)`);
    expect(said).toContain(
      `group ${w.target.group}: committed offsets removed (partition 0 at 2, partition 1 at 1)`,
    );
    expect(said).toContain(`group ${other}: committed offsets removed`);
    expect(said).toContain(`table ${w.target.checkpointTable} deleted (1 item); created again, empty`);
    expect(said).toContain(
      'truncated aggregated_counts (1 row), rejected_events (1 row), sink_fences (1 row)',
    );
  });

  describe('while the job is running', () => {
    let consumer: Consumer;
    beforeEach(async () => {
      await fill(w);
      consumer = testKafka().consumer({ groupId: w.target.group });
      await consumer.connect();
      await consumer.subscribe({ topic: w.target.topic, fromBeginning: true });
      await consumer.run({ eachMessage: async () => undefined });
      await waitFor('the consumer to join the job group', async () => {
        const { groups } = await w.clients.admin.describeGroups([w.target.group]);
        return groups[0]?.state === 'Stable';
      });
    });
    afterEach(async () => consumer.disconnect());

    it('refuses and changes nothing', async () => {
      // Act
      const reset = resetJob(w.target, w.clients, { force: false }, () => undefined);

      // Assess
      await expect(reset).rejects.toThrow(ResetRefused);
      await expect(reset).rejects.toThrow(`the job is running: group ${w.target.group} has 1 member reading`);
      expect((await topicOffsets(w.clients.admin, w.target.topic))?.map((p) => p.high)).toEqual([2, 1]);
      expect(await w.items()).toBe(1);
      expect(await rowCounts(w)).toEqual({ aggregated: 1, rejected: 1, fences: 1 });
    });

    it('resets anyway with --force, and says to restart the job', async () => {
      // Prepare
      const lines: string[] = [];

      // Act
      await resetJob(w.target, w.clients, { force: true }, (line) => lines.push(line));

      // Assess
      expect(lines.join('\n')).toMatch(/the job is running \(--force\): restart it/);
      expect(await w.items()).toBe(0);
      expect(await rowCounts(w)).toEqual({ aggregated: 0, rejected: 0, fences: 0 });
    });
  });

  it('creates a topic that does not exist yet with the configured partition count', async () => {
    // Prepare
    const target = { ...w.target, topic: uniqueName('job-missing'), topicPartitions: 3 };

    // Act
    try {
      await resetJob(target, w.clients, { force: false }, () => undefined);

      // Assess
      expect((await topicOffsets(w.clients.admin, target.topic))?.length).toBe(3);
    } finally {
      await w.clients.admin.deleteTopics({ topics: [target.topic] }).catch(() => undefined);
    }
  });
});
