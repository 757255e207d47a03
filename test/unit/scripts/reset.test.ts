import { describe, expect, it } from 'vitest';
import { projectTables } from '../../../scripts/job/postgres.ts';
import { ResetRefused, resetJob } from '../../../scripts/job/reset.ts';
import { isLocalHost, type JobClients, jobTarget, remoteEndpoints } from '../../../scripts/job/target.ts';
import { parseResetArgs } from '../../../scripts/reset.ts';

describe('npm run reset arguments', () => {
  it.each([
    { argv: [], expected: { force: false, help: false } },
    { argv: ['--force'], expected: { force: true, help: false } },
    { argv: ['-h'], expected: { force: false, help: true } },
  ])('reads $argv', ({ argv, expected }) => {
    expect(parseResetArgs(argv)).toEqual(expected);
  });

  it.each([['--yes'], ['now']])('refuses %s', (arg) => {
    expect(() => parseResetArgs([arg])).toThrow(
      expect.objectContaining({ code: expect.stringMatching(/^ERR_PARSE_ARGS/) }),
    );
  });
});

describe('the reset stays on this machine', () => {
  const local = jobTarget({});
  const untouchable = new Proxy({} as JobClients, {
    get: (_, name) => {
      throw new Error(`the reset touched ${String(name)}`);
    },
  });

  it('takes the names npm start uses, and the job group from KAFKA_CONSUMER_GROUP', () => {
    // Assess
    expect(local).toMatchObject({
      topic: 'user_activity',
      group: 'sessionizer-dev',
      checkpointTable: 'sessionizer-checkpoints',
      dynamodbEndpoint: 'http://127.0.0.1:8000',
    });
    expect(jobTarget({ KAFKA_CONSUMER_GROUP: 'lab-group' }).group).toBe('lab-group');
  });

  it.each(['localhost', '127.0.0.1', '127.1.2.3', '[::1]', ''])('counts %j as local', (host) => {
    expect(isLocalHost(host)).toBe(true);
  });

  it.each(['dynamodb.us-east-1.amazonaws.com', '10.0.0.5', 'db.internal', '128.0.0.1'])(
    'counts %s as remote',
    (host) => {
      expect(isLocalHost(host)).toBe(false);
    },
  );

  it('finds nothing remote in the local defaults, nor in a PostgreSQL Unix socket', () => {
    expect(remoteEndpoints(local)).toEqual([]);
    expect(
      remoteEndpoints({ ...local, databaseUrl: 'postgres:///flink_db?host=/var/run/postgresql' }),
    ).toEqual([]);
  });

  it('refuses AWS or another machine before it touches any client, naming each endpoint', async () => {
    // Prepare
    const target = jobTarget({
      DYNAMODB_ENDPOINT: 'https://dynamodb.us-east-1.amazonaws.com',
      KAFKA_BROKERS: 'b-1.msk.example.com:9098',
      DATABASE_URL: 'postgres://app@db.example.com:5432/flink_db',
    });

    // Act
    const reset = resetJob(target, untouchable, { force: true }, () => undefined);

    // Assess
    await expect(reset).rejects.toThrow(ResetRefused);
    await expect(reset).rejects.toThrow(
      'never touches AWS or another machine: DYNAMODB_ENDPOINT=https://dynamodb.us-east-1.amazonaws.com is not a local endpoint; ' +
        'KAFKA_BROKERS: b-1.msk.example.com:9098 is not on this machine; DATABASE_URL: host db.example.com is not on this machine',
    );
  });
});

describe('projectTables', () => {
  it('lists the tables lib/sink/schema.sql creates, the fences among them', () => {
    expect(projectTables()).toEqual(
      expect.arrayContaining(['aggregated_counts', 'rejected_events', 'sink_fences']),
    );
  });

  it('reads CREATE TABLE in any case, with or without IF NOT EXISTS, and not views or indexes', () => {
    // Act
    const tables = projectTables(`
      CREATE TABLE IF NOT EXISTS aggregated_counts (x INT);
      create table user_sessions (y INT);
      CREATE INDEX IF NOT EXISTS user_sessions_user ON user_sessions (y);
      CREATE OR REPLACE VIEW user_session_totals AS SELECT 1;`);

    // Assess
    expect(tables).toEqual(['aggregated_counts', 'user_sessions']);
  });
});
