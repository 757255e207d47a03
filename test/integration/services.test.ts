import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { migrate } from '../../lib/sink/index.ts';
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

// Smoke tests: each service the job depends on is real and reachable from the test process.

describe('Kafka broker', () => {
  it('delivers a produced message to a consumer', async () => {
    // Prepare
    const { topic, drop } = await createTopic(1, 'smoke');
    const kafka = testKafka();
    const producer = kafka.producer();
    const consumer = kafka.consumer({ groupId: uniqueName('smoke-group') });
    const received: string[] = [];
    try {
      await producer.connect();
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => void received.push(String(message.value)) });

      // Act
      await producer.send({ topic, messages: [{ key: 'user_A', value: 'user_A,1000' }] });

      // Assess
      await waitFor('the message to be consumed', () => received.length > 0);
      expect(received).toEqual(['user_A,1000']);
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
      await drop();
    }
  });
});

describe('DynamoDB Local', () => {
  const client = testDynamo();
  afterAll(() => client.destroy());

  it('returns an item that was put', async () => {
    // Prepare
    const { table, drop } = await createCheckpointTable(client);
    try {
      // Act
      await client.send(
        new PutItemCommand({ TableName: table, Item: { pk: { S: 'P#t#0' }, version: { N: '1' } } }),
      );
      const { Item } = await client.send(
        new GetItemCommand({ TableName: table, Key: { pk: { S: 'P#t#0' } }, ConsistentRead: true }),
      );

      // Assess
      expect(Item).toEqual({ pk: { S: 'P#t#0' }, version: { N: '1' } });
    } finally {
      await drop();
    }
  });
});

describe('PostgreSQL', () => {
  it('stores and returns a row of aggregated_counts', async () => {
    // Prepare
    const { pool, drop } = await createSchema();
    try {
      // Act
      await pool.query(
        'INSERT INTO aggregated_counts (group_key, count_value, window_end_time) VALUES ($1, $2, $3)',
        ['user_A|1970-01-01T00:00:01.000Z', 2, '1970-01-01 00:00:07'],
      );
      const { rows } = await pool.query(
        "SELECT group_key, count_value::int AS count, to_char(window_end_time, 'YYYY-MM-DD HH24:MI:SS') AS end_time FROM aggregated_counts",
      );

      // Assess
      expect(rows).toEqual([
        { group_key: 'user_A|1970-01-01T00:00:01.000Z', count: 2, end_time: '1970-01-01 00:00:07' },
      ]);
    } finally {
      await drop();
    }
  });

  it('runs the migration twice without harm and keeps the data', async () => {
    // Prepare
    const { schema, pool, drop } = await createSchema();
    const client = new pg.Client({ connectionString: settings.databaseUrl });
    await client.connect();
    try {
      await pool.query("INSERT INTO aggregated_counts VALUES ('k', 1, '1970-01-01 00:00:05')");

      // Act
      await migrate(client, schema);
      await migrate(client, schema);

      // Assess
      const { rows } = await pool.query('SELECT count(*)::int AS n FROM aggregated_counts');
      expect(rows).toEqual([{ n: 1 }]);
      const columns = await pool.query(
        `SELECT column_name, data_type, character_maximum_length AS len
           FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'aggregated_counts'
          ORDER BY ordinal_position`,
        [schema],
      );
      expect(columns.rows).toEqual([
        { column_name: 'group_key', data_type: 'character varying', len: 255 },
        { column_name: 'count_value', data_type: 'bigint', len: null },
        { column_name: 'window_end_time', data_type: 'timestamp without time zone', len: null },
      ]);
    } finally {
      await client.end();
      await drop();
    }
  });

  it('adds user_sessions and user_session_totals to a database that has only the older tables', async () => {
    // Prepare: the schema as it was before issue 12, with a row.
    const { schema, pool, drop } = await createSchema();
    const client = new pg.Client({ connectionString: settings.databaseUrl });
    await client.connect();
    try {
      await pool.query('DROP VIEW user_session_totals');
      await pool.query('DROP VIEW session_status');
      await pool.query('DROP TABLE user_sessions');
      await pool.query("INSERT INTO aggregated_counts VALUES ('k', 1, '1970-01-01 00:00:05')");

      // Act
      await migrate(client, schema);
      await migrate(client, schema);

      // Assess
      const { rows } = await pool.query(
        `SELECT (SELECT count(*)::int FROM aggregated_counts) AS counts,
                (SELECT count(*)::int FROM user_sessions) AS sessions,
                (SELECT count(*)::int FROM user_session_totals) AS totals`,
      );
      expect(rows).toEqual([{ counts: 1, sessions: 0, totals: 0 }]);
      const columns = await pool.query(
        `SELECT column_name, data_type FROM information_schema.columns
          WHERE table_schema = $1 AND table_name = 'user_sessions' ORDER BY ordinal_position`,
        [schema],
      );
      expect(columns.rows).toEqual([
        { column_name: 'group_key', data_type: 'character varying' },
        { column_name: 'user_id', data_type: 'character varying' },
        { column_name: 'session_start', data_type: 'timestamp with time zone' },
        { column_name: 'last_event_time', data_type: 'timestamp with time zone' },
        { column_name: 'window_end_time', data_type: 'timestamp with time zone' },
        { column_name: 'event_count', data_type: 'bigint' },
        { column_name: 'duration_ms', data_type: 'bigint' },
        { column_name: 'topic', data_type: 'character varying' },
        { column_name: 'kafka_partition', data_type: 'integer' },
      ]);
      const indexes = await pool.query(
        "SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = 'user_sessions' ORDER BY 1",
        [schema],
      );
      expect(indexes.rows.map((r) => r.indexname)).toEqual([
        'user_sessions_pkey',
        'user_sessions_window_end',
      ]);
    } finally {
      await client.end();
      await drop();
    }
  });
});
