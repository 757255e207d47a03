import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SinkUnavailableError } from '../../lib/errors.ts';
import { handleKafkaEvent } from '../../lib/pipeline/index.ts';
import { createRuntime, type Runtime } from '../../lib/runtime/index.ts';
import type { SecretReader } from '../../lib/shared/index.ts';
import { uniqueName } from '../helpers/names.ts';
import { mskEvent, readRows } from '../helpers/pipeline.ts';
import { createCheckpointTable, createSchema, settings, testDynamo } from '../helpers/services.ts';
import { waitFor } from '../helpers/wait-for.ts';

// A warm container whose database secret rotates (docs/DEPLOY.md, "Rotating the database
// secret"), against the real PostgreSQL: the job runs as a role of the test's own, its secret is a
// stand-in for Secrets Manager injected into the runtime (with a cache, like Powertools
// Parameters), and the credentials change between two batches.
//
// How the credentials change depends on the server: where PostgreSQL checks passwords, the role's
// password changes (PostgreSQL answers the old one with SQLSTATE 28P01). Where it trusts local
// connections (the shared development server: `host all all 127.0.0.1 trust`), a password is never
// checked, so the rotation switches the secret to a second role and takes LOGIN from the first
// (SQLSTATE 28000), which is RDS's alternating-users rotation. The job's side is the same.

const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:111122223333:secret:sessionizer/test/database-AbCdEf';
const FIRST_ROW = { group_key: 'user_A|1970-01-01T00:00:01.000Z', count: 2, end: '1970-01-01 00:00:07.000' };
const SECOND_ROW = { group_key: 'user_A|1970-01-01T00:00:08.000Z', count: 1, end: '1970-01-01 00:00:13.000' };

/** Secrets Manager as the runtime sees it: the value, cached until a read with `fresh`. */
class SecretStandIn {
  value: Record<string, unknown>;
  private cached: string | undefined;
  readonly reads: boolean[] = [];
  constructor(value: Record<string, unknown>) {
    this.value = value;
  }
  readonly read: SecretReader = async (arn, { fresh }) => {
    expect(arn).toBe(SECRET_ARN);
    this.reads.push(fresh);
    if (fresh || this.cached === undefined) this.cached = JSON.stringify(this.value);
    return this.cached;
  };
}

describe('a rotated database secret in a warm container', () => {
  const url = new URL(settings.databaseUrl);
  const database = decodeURIComponent(url.pathname.slice(1));
  let admin: pg.Pool;
  let roles: { first: string; second: string };
  let checksPasswords: boolean;
  let secret: SecretStandIn;
  let runtime: Runtime;
  let cleanup: () => Promise<void>;

  const credentials = (user: string, password: string) => ({
    host: url.hostname,
    port: Number(url.port || 5432),
    username: user,
    password,
    dbname: database,
  });

  /** The database stops taking the credentials the secret holds now; returns the ones it takes. */
  const rotateDatabase = async (): Promise<Record<string, unknown>> => {
    if (checksPasswords) {
      await admin.query(`ALTER ROLE ${roles.first} PASSWORD 'rotated-2'`);
      return credentials(roles.first, 'rotated-2');
    }
    await admin.query(`ALTER ROLE ${roles.first} NOLOGIN`);
    return credentials(roles.second, 'second-1');
  };

  /** Closes the job's open connections, as an idle timeout or a frozen container does. */
  const dropOpenConnections = async () => {
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [
      roles.first,
    ]);
    await waitFor('the pool to notice its connections are gone', () => runtime.database.connections === 0);
  };

  beforeEach(async () => {
    const dynamo = testDynamo();
    const table = await createCheckpointTable(dynamo);
    const schema = await createSchema();
    admin = schema.pool;
    roles = { first: uniqueName('rot_a'), second: uniqueName('rot_b') };
    for (const [role, password] of [
      [roles.first, 'first-1'],
      [roles.second, 'second-1'],
    ] as const) {
      await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
      await admin.query(`GRANT USAGE ON SCHEMA ${schema.schema} TO ${role}`);
      await admin.query(
        `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${schema.schema} TO ${role}`,
      );
      await admin.query(`ALTER ROLE ${role} SET search_path = ${schema.schema}`);
    }
    // Does this server check passwords? A wrong one tells.
    const probe = new pg.Client({
      host: url.hostname,
      port: Number(url.port || 5432),
      user: roles.first,
      password: 'wrong',
      database,
    });
    checksPasswords = await probe.connect().then(
      () => false,
      (error: { code?: string }) => error.code === '28P01',
    );
    await probe.end().catch(() => undefined);

    secret = new SecretStandIn(credentials(roles.first, 'first-1'));
    runtime = createRuntime(
      {
        DATABASE_SECRET_ARN: SECRET_ARN,
        DATABASE_SSL: 'off',
        DYNAMODB_ENDPOINT: settings.dynamodbEndpoint,
        CHECKPOINT_TABLE: table.table,
        AWS_REGION: settings.region,
        POWERTOOLS_METRICS_DISABLED: 'true',
      },
      { readSecret: secret.read },
    );
    cleanup = async () => {
      await runtime.close();
      for (const role of [roles.first, roles.second]) {
        await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [
          role,
        ]);
      }
      await schema.drop();
      const c = new pg.Client({ connectionString: settings.databaseUrl });
      await c.connect();
      for (const role of [roles.first, roles.second]) await c.query(`DROP ROLE IF EXISTS ${role}`);
      await c.end();
      await table.drop();
      dynamo.destroy();
    };
  });

  afterEach(async () => cleanup());

  it('drops its pool, reads the secret again and writes the next batch with the new credentials', async () => {
    // Prepare: a first batch under the first credentials; the pool keeps its connection.
    await handleKafkaEvent(runtime.deps, mskEvent(['user_A,1000', 'user_A,2000', 'user_A,8000']));
    expect(runtime.database.connections).toBeGreaterThan(0);

    // Act: the rotation (database first, then the secret), then the next new connection.
    secret.value = await rotateDatabase();
    await dropOpenConnections();
    const [outcome] = await handleKafkaEvent(runtime.deps, mskEvent(['user_B,20000'], 3));

    // Assess: one read past the cache, the batch written, and by the new credentials.
    expect(secret.reads).toEqual([false, true]);
    expect(outcome).toMatchObject({ records: 1, emitted: 1, commits: 1 });
    expect(await readRows(admin)).toEqual([FIRST_ROW, SECOND_ROW]);
    const { rows } = await admin.query(
      'SELECT DISTINCT usename FROM pg_stat_activity WHERE usename = ANY($1)',
      [[roles.first, roles.second]],
    );
    expect(rows).toEqual([{ usename: checksPasswords ? roles.first : roles.second }]);
  });

  it('fails the batch (retryable) while the secret still holds refused credentials, and the retry writes it', async () => {
    // Prepare
    await handleKafkaEvent(runtime.deps, mskEvent(['user_A,1000', 'user_A,2000', 'user_A,8000']));

    // Act: a rotation half-way, the database changed and the secret not yet (single-user rotation
    // between setSecret and finishSecret).
    const next = await rotateDatabase();
    await dropOpenConnections();
    const during = handleKafkaEvent(runtime.deps, mskEvent(['user_B,20000'], 3));

    // Assess
    await expect(during).rejects.toBeInstanceOf(SinkUnavailableError);
    expect(secret.reads).toEqual([false, true]);
    expect(await readRows(admin)).toEqual([FIRST_ROW]);

    // Act: the rotation finishes; the event source mapping retries the same batch.
    secret.value = next;
    await handleKafkaEvent(runtime.deps, mskEvent(['user_B,20000'], 3));

    // Assess
    expect(secret.reads).toEqual([false, true, true]);
    expect(await readRows(admin)).toEqual([FIRST_ROW, SECOND_ROW]);
  });
});
