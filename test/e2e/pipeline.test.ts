import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueName } from '../helpers/names.ts';
import {
  createCheckpointTable,
  createSchema,
  createTopic,
  settings,
  testDynamo,
  testKafka,
} from '../helpers/services.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { type OfflineProcess, startOffline } from './offline.ts';

// One `serverless offline start` for the scenarios that need no crash: starting it (esbuild,
// workers) is the slow part.
describe('serverless offline start with the Kafka trigger', () => {
  const dynamo = testDynamo();
  const captureDir = join(tmpdir(), uniqueName('capture'));
  let topic: Awaited<ReturnType<typeof createTopic>>;
  let table: Awaited<ReturnType<typeof createCheckpointTable>>;
  let schema: Awaited<ReturnType<typeof createSchema>>;
  let offline: OfflineProcess;
  const producer = testKafka('e2e-producer').producer();

  beforeAll(async () => {
    [topic, table, schema] = await Promise.all([
      createTopic(2, 'e2e'),
      createCheckpointTable(dynamo),
      createSchema(),
    ]);
    await producer.connect();
    offline = await startOffline({
      name: uniqueName('pipeline'),
      topic: topic.topic,
      group: uniqueName('group'),
      table: table.table,
      schema: schema.schema,
      env: { OFFLINE_KAFKA_CAPTURE_DIR: captureDir, IDLE_TIMEOUT_MS: '2000' },
    });
    await offline.ready();
  });

  afterAll(async () => {
    if (process.env.E2E_DEBUG) console.log(offline?.output().slice(-6000));
    await offline?.stop();
    await producer.disconnect();
    await Promise.all([topic?.drop(), table?.drop(), schema?.drop()]);
    rmSync(captureDir, { recursive: true, force: true });
  });

  const rows = async (pool: pg.Pool, prefix: string) =>
    (
      await pool.query(
        `SELECT group_key, count_value::int AS count, window_end_time FROM aggregated_counts
         WHERE group_key LIKE $1 ORDER BY group_key`,
        [`${prefix}|%`],
      )
    ).rows;

  it('turns the seed scenario into exactly the two user_A rows', async () => {
    // Act
    for (const value of ['user_A,1000', 'user_A,2000', 'user_A,8000']) {
      await producer.send({ topic: topic.topic, messages: [{ key: 'user_A', value }] });
    }

    // Assess: the first session fires on user_A,8000, the second by the idle sweep.
    const result = await waitFor('both user_A sessions', async () => {
      const r = await rows(schema.pool, 'user_A');
      return r.length === 2 && r;
    });
    expect(result).toEqual([
      {
        group_key: 'user_A|1970-01-01T00:00:01.000Z',
        count: 2,
        window_end_time: new Date('1970-01-01T00:00:07Z'),
      },
      {
        group_key: 'user_A|1970-01-01T00:00:08.000Z',
        count: 1,
        window_end_time: new Date('1970-01-01T00:00:13Z'),
      },
    ]);
  });

  it('does not stall a partition on a poison pill', async () => {
    // Prepare: a bad record between good ones of the same user (same key, same partition), with
    // event times far after the seed scenario's.
    const t = Date.now() + 60_000;
    const values = [`user_P,${t}`, 'not a valid event at all', `user_P,${t + 1000}`, `user_P,${t + 9000}`];
    const messages = values.map((value) => ({ key: 'user_P', value }));

    // Act
    await producer.send({ topic: topic.topic, messages });

    // Assess: the records after it are processed, and the pill is in rejected_events.
    const sessions = await waitFor('user_P sessions after the poison pill', async () => {
      const r = await rows(schema.pool, 'user_P');
      return r.length === 2 && r;
    });
    expect(sessions.map((r) => r.count)).toEqual([2, 1]);
    const rejected = await schema.pool.query(
      `SELECT raw_value, reason FROM rejected_events WHERE topic = $1 AND raw_value = 'not a valid event at all'`,
      [topic.topic],
    );
    expect(rejected.rows).toEqual([{ raw_value: 'not a valid event at all', reason: 'wrong_field_count' }]);
  });

  it('delivers events of the documented MSK shape', async () => {
    // Prepare
    const sample = JSON.parse(readFileSync('test/fixtures/msk-event-aws-sample.json', 'utf8'));
    const sampleRecord = Object.values(sample.records as Record<string, unknown[]>)[0]?.[0];
    await producer.send({
      topic: topic.topic,
      messages: [{ key: 'user_S', value: 'user_S,1000', headers: { trace: Buffer.from([0x01, 0xff]) } }],
    });

    // Act
    const event = await waitFor('a captured event with user_S', () => {
      for (const file of readdirSync(captureDir)) {
        const e = JSON.parse(readFileSync(join(captureDir, file), 'utf8'));
        const all = Object.values(e.records as Record<string, { key?: string }[]>).flat();
        if (all.some((r) => r.key === Buffer.from('user_S').toString('base64'))) return e;
      }
      return undefined;
    });

    // Assess: the same keys in the same order with the same types as AWS's example event.
    const shape = (v: unknown): unknown =>
      Array.isArray(v) ? 'array' : v !== null && typeof v === 'object' ? Object.keys(v) : typeof v;
    expect(Object.keys(event)).toEqual(Object.keys(sample));
    expect(event.eventSource).toBe('aws:kafka');
    expect(event.eventSourceArn).toMatch(/^arn:aws:kafka:/);
    expect(event.bootstrapServers).toBe(settings.kafkaBrokers.join(','));
    const userS = Buffer.from('user_S').toString('base64');
    const [label, records] =
      Object.entries(event.records as Record<string, Record<string, unknown>[]>).find(([, rs]) =>
        rs.some((r) => r.key === userS),
      ) ?? [];
    expect(label).toMatch(new RegExp(`^${topic.topic}-\\d+$`));
    const record = (records ?? []).find((r) => r.key === userS) ?? {};
    expect(shape(record)).toEqual(shape(sampleRecord));
    for (const key of Object.keys(sampleRecord as object)) {
      expect(shape(record[key]), key).toEqual(shape((sampleRecord as Record<string, unknown>)[key]));
    }
    expect(Buffer.from(record.value as string, 'base64').toString()).toBe('user_S,1000');
    expect(record.headers).toEqual([{ trace: [1, -1] }]);
    expect(record.timestampType).toBe('CREATE_TIME');
  });

  it('logs one JSON line per batch and writes EMF metrics to the offline output', async () => {
    // Prepare: one user in one partition (same key), a bad record among good ones.
    const t = Date.now() + 120_000;
    const values = [`user_M,${t}`, 'user_M;broken', `user_M,${t + 1000}`];
    const [sent] = await producer.send({
      topic: topic.topic,
      messages: values.map((value) => ({ key: 'user_M', value })),
    });
    const partition = sent?.partition as number;
    const last = Number(sent?.baseOffset) + values.length - 1;
    const lines = () =>
      offline
        .output()
        .split('\n')
        .flatMap((line) => {
          const start = line.indexOf('{');
          if (start < 0) return [];
          try {
            return [JSON.parse(line.slice(start)) as Record<string, unknown>];
          } catch {
            return [];
          }
        });

    // Act
    const batch = await waitFor('the batch log line that ends at the last record', () =>
      lines().find(
        (l) =>
          l.message === 'batch' &&
          l.topicPartition === `${topic.topic}-${partition}` &&
          l.lastOffset === last,
      ),
    );

    // Assess: the batch line has what the issue asks for, and nothing per record at info.
    expect(batch).toMatchObject({ level: 'INFO', service: 'sessionizer', topic: topic.topic, partition });
    expect(batch.firstOffset).toBeLessThanOrEqual(last - 2);
    expect(batch.rejected).toMatchObject({ wrong_field_count: 1 });
    for (const field of [
      'records',
      'emitted',
      'late',
      'watermark',
      'durationMs',
      'dynamodbMs',
      'postgresMs',
    ]) {
      expect(batch, field).toHaveProperty(field);
    }
    expect(lines().filter((l) => JSON.stringify(l).includes('user_M;broken'))).toEqual([]);
    const emf = await waitFor('EMF lines with batch metrics and the rejection reason', () => {
      const all = lines().filter((l) => l._aws !== undefined);
      const batchMetrics = all.find((l) => 'Records' in l && 'DynamoDbTime' in l && 'WatermarkLag' in l);
      const rejected = all.find((l) => l.Reason === 'wrong_field_count' && 'RejectedRecords' in l);
      return batchMetrics && rejected && { batchMetrics, rejected };
    });
    const declared = (l: Record<string, unknown>) =>
      (l._aws as { CloudWatchMetrics: { Namespace: string; Metrics: { Name: string }[] }[] })
        .CloudWatchMetrics;
    expect(declared(emf.batchMetrics)[0]?.Namespace).toBe('sessionizer');
    expect(declared(emf.batchMetrics)[0]?.Metrics.map((m) => m.Name)).toEqual(
      expect.arrayContaining([
        'Records',
        'SessionsEmitted',
        'LateRecords',
        'WatermarkLag',
        'BatchDuration',
        'DynamoDbTime',
        'PostgresTime',
      ]),
    );
    expect(declared(emf.rejected)[0]?.Metrics).toEqual([{ Name: 'RejectedRecords', Unit: 'Count' }]);
  });
});
