import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { handleKafkaEvent } from '../../lib/pipeline/index.ts';
import { rowsPerPartition } from '../../scripts/job/postgres.ts';
import { collectStatus, formatStatus } from '../../scripts/job/status.ts';
import { createJobWorld } from '../helpers/job.ts';
import { uniqueName } from '../helpers/names.ts';
import { mskEvent } from '../helpers/pipeline.ts';
import { settings, testKafka } from '../helpers/services.ts';

type World = Awaited<ReturnType<typeof createJobWorld>>;

describe('npm run status against the real services', () => {
  let w: World;
  beforeEach(async () => {
    w = await createJobWorld(2);
  });
  afterEach(async () => w.cleanup());

  it('shows per partition the offsets, lag, watermark, rows, rejects and last batch', async () => {
    // Prepare: the seed scenario and a bad record through the handler on partition 0 (offsets
    // 0-3), five records in Kafka's partition 0 and two in partition 1, the job group at 4 on 0.
    const { topic, group } = w.target;
    await handleKafkaEvent(
      w.deps,
      mskEvent(['user_A,1000', 'user_A,2000', 'garbage', 'user_A,8000'], 0, 0, topic),
    );
    const producer = testKafka().producer();
    await producer.connect();
    await producer.send({
      topic,
      messages: [0, 0, 0, 0, 0, 1, 1].map((partition, i) => ({ partition, value: `user_A,${i}` })),
    });
    await producer.disconnect();
    await w.clients.admin.setOffsets({ groupId: group, topic, partitions: [{ partition: 0, offset: '4' }] });

    // Act
    const status = await collectStatus(w.target, w.clients, () => w.clock.ms + 3000);

    // Assess
    expect(status).toMatchObject({ topic, group, members: [], table: w.target.checkpointTable });
    expect(status.partitions).toEqual([
      {
        partition: 0,
        committedOffset: 4,
        logEndOffset: 5,
        lag: 1,
        appliedOffset: 4,
        watermark: 7999,
        liveSessions: 1,
        unwrittenSessions: 1,
        stateBytes: expect.any(Number),
        rowsWritten: 1,
        provisionalRows: 0,
        rejects: { wrong_field_count: 1 },
        lastBatchAt: w.clock.ms,
      },
      {
        partition: 1,
        committedOffset: null,
        logEndOffset: 2,
        lag: null,
        appliedOffset: null,
        watermark: null,
        liveSessions: null,
        unwrittenSessions: null,
        stateBytes: null,
        rowsWritten: 0,
        provisionalRows: 0,
        rejects: {},
        lastBatchAt: null,
      },
    ]);
    expect(formatStatus(status)).toMatch(
      /1970-01-01T00:00:07\.999Z .* wrong_field_count:1 {2}\d\d:\d\d:\d\d \(3 s ago\)/,
    );
  });

  it('still shows what it can when the topic and the checkpoint table do not exist', async () => {
    // Prepare
    const target = {
      ...w.target,
      topic: uniqueName('job-missing'),
      checkpointTable: uniqueName('ckpt-missing'),
    };

    // Act
    const status = await collectStatus(target, w.clients);

    // Assess
    expect(status.partitions).toEqual([]);
    expect(status.notes).toContain(`topic ${target.topic} does not exist (npm start creates it)`);
    expect(formatStatus(status)).toContain('note: topic');
  });
});

describe('rows per partition', () => {
  it('counts user_sessions rows per partition of the topic, whichever name its topic column has', async () => {
    // Prepare: a bare schema whose user_sessions names the column kafka_topic.
    const schema = uniqueName('t');
    const admin = new pg.Client({ connectionString: settings.databaseUrl });
    await admin.connect();
    const db = new pg.Client({ connectionString: settings.databaseUrl, options: `-c search_path=${schema}` });
    try {
      await admin.query(`CREATE SCHEMA ${schema}`);
      await db.connect();
      await db.query('CREATE TABLE user_sessions (kafka_topic TEXT, kafka_partition INT)');
      await db.query(`INSERT INTO user_sessions VALUES ('t', 0), ('t', 0), ('t', 2), ('other', 0)`);

      // Act
      const rows = await rowsPerPartition(db, 't');

      // Assess
      expect(rows).toEqual(
        new Map([
          [0, 2],
          [2, 1],
        ]),
      );
    } finally {
      await db.end().catch(() => undefined);
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    }
  });
});
