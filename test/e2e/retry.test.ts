import { connect, createServer, type Server, type Socket } from 'node:net';
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

/** A TCP proxy in front of PostgreSQL that the test can break (every connection dropped) and heal. */
async function startProxy(
  target: URL,
): Promise<{ url: string; broken: (b: boolean) => void; close: () => void }> {
  let broken = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    if (broken) return void client.destroy();
    const upstream = connect(Number(target.port || 5432), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const url = new URL(target.toString());
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return {
    url: url.toString(),
    broken: (b) => {
      broken = b;
      if (b) for (const s of sockets) s.destroy();
    },
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

describe('a failing function', () => {
  const dynamo = testDynamo();
  const group = uniqueName('group');
  const admin = testKafka('e2e-admin').admin();
  const producer = testKafka('e2e-producer').producer();
  let topic: Awaited<ReturnType<typeof createTopic>>;
  let table: Awaited<ReturnType<typeof createCheckpointTable>>;
  let schema: Awaited<ReturnType<typeof createSchema>>;
  let proxy: Awaited<ReturnType<typeof startProxy>>;
  let offline: OfflineProcess;

  beforeAll(async () => {
    [topic, table, schema] = await Promise.all([
      createTopic(1, 'e2e'),
      createCheckpointTable(dynamo),
      createSchema(),
    ]);
    proxy = await startProxy(new URL(settings.databaseUrl));
    await Promise.all([producer.connect(), admin.connect()]);
    offline = await startOffline({
      name: uniqueName('retry'),
      topic: topic.topic,
      group,
      table: table.table,
      schema: schema.schema,
      databaseUrl: proxy.url,
      // Only the trigger's retries here: the idle sweep would fail against the broken proxy too.
      env: { OFFLINE_SWEEP_INTERVAL_SECONDS: '0', IDLE_FLUSH: 'false' },
    });
    await offline.ready();
  });

  afterAll(async () => {
    await offline?.stop();
    proxy?.close();
    await Promise.all([producer.disconnect(), admin.disconnect()]);
    await Promise.all([topic?.drop(), table?.drop(), schema?.drop()]);
  });

  const committed = async () => {
    const [t] = await admin.fetchOffsets({ groupId: group, topics: [topic.topic] });
    return Number(t?.partitions[0]?.offset ?? -1);
  };
  const failures = () => offline.output().split('failed (attempt').length - 1;

  it('is retried with the same batch, and the group offset never passes it until it succeeds', async () => {
    // Prepare: a first batch goes through.
    await producer.send({ topic: topic.topic, messages: [{ key: 'user_R', value: 'user_R,1000' }] });
    await waitFor('the first batch committed', async () => (await committed()) === 1);

    // Act: PostgreSQL unreachable while the next records arrive.
    proxy.broken(true);
    await producer.send({
      topic: topic.topic,
      messages: ['user_R,2000', 'user_R,8000', 'user_R,20000'].map((value) => ({ key: 'user_R', value })),
    });

    // Assess: retried several times, the committed offset stays before the failing batch.
    await waitFor('three failed attempts', () => failures() >= 3, { timeoutMs: 30_000 });
    expect(await committed()).toBe(1);
    const during = failures();
    await waitFor('more failed attempts', () => failures() > during + 1, { timeoutMs: 30_000 });
    expect(await committed()).toBe(1);

    // Act: heal.
    proxy.broken(false);

    // Assess: the same batch succeeds, its offsets get committed and its sessions written once.
    // A timeout says what the job last did (its log), not only that the offset did not move.
    await waitFor('the failing batch committed', async () => (await committed()) === 4).catch((error) => {
      throw new Error(
        `${(error as Error).message}; the job's log ends with:\n${offline.output().slice(-4000)}`,
      );
    });
    const rows = await schema.pool.query(
      `SELECT group_key, count_value::int AS count FROM aggregated_counts ORDER BY group_key`,
    );
    expect(rows.rows).toEqual([
      { group_key: 'user_R|1970-01-01T00:00:01.000Z', count: 2 },
      { group_key: 'user_R|1970-01-01T00:00:08.000Z', count: 1 },
    ]);
    expect(offline.output()).toMatch(/succeeded after \d+ retries/);
  });
});
