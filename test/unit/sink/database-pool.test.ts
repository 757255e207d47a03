import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { DatabasePool, isAuthFailure } from '../../../lib/sink/index.ts';

// The container's pool and a rotated database secret (lib/sink/database-pool.ts): a pool whose
// credentials PostgreSQL refuses is dropped, the secret is read again past its cache, and the
// connection is tried once more. Fake pools stand in for pg.Pool; test/integration/secret-rotation
// does the same against the real PostgreSQL.

const refused = (code: string) => Object.assign(new Error(`auth failed (${code})`), { code });

/** A pool built from credentials `version`: it refuses connections while `accepted()` says so. */
class FakePool {
  ended = false;
  connects = 0;
  totalCount = 0;
  constructor(
    readonly version: number,
    private readonly accepted: (version: number) => boolean,
    private readonly failure: Error = refused('28P01'),
  ) {}
  async connect(): Promise<pg.PoolClient> {
    this.connects++;
    if (this.ended) throw new Error('Cannot use a pool after calling end on the pool');
    // Yield once, as a real connect does, so that parallel callers interleave.
    await Promise.resolve();
    if (!this.accepted(this.version)) throw this.failure;
    this.totalCount++;
    return { version: this.version } as unknown as pg.PoolClient;
  }
  async end(): Promise<void> {
    this.ended = true;
  }
}

/** A DatabasePool over fake pools; the secret is at `secret.version`, read past the cache with fresh. */
function harness(acceptedVersion: { current: number }, failure?: Error) {
  const secret = { version: 1, cached: undefined as number | undefined };
  const reads: boolean[] = [];
  const pools: FakePool[] = [];
  const database = new DatabasePool(async (fresh) => {
    reads.push(fresh);
    if (fresh || secret.cached === undefined) secret.cached = secret.version;
    const pool = new FakePool(secret.cached, (v) => v === acceptedVersion.current, failure);
    pools.push(pool);
    return pool as unknown as pg.Pool;
  });
  return { database, secret, reads, pools };
}

describe('DatabasePool', () => {
  it('builds one pool at the first connection and keeps it', async () => {
    // Prepare
    const { database, reads, pools } = harness({ current: 1 });

    // Act
    await database.connect();
    await database.connect();

    // Assess
    expect(reads).toEqual([false]);
    expect(pools).toHaveLength(1);
    expect(database.connections).toBe(2);
  });

  it.each(['28P01', '28000'])(
    'after a rotation (%s) drops the pool, reads the secret past its cache and connects on a new pool',
    async (code) => {
      // Prepare
      const accepted = { current: 1 };
      const { database, secret, reads, pools } = harness(accepted, refused(code));
      await database.connect();

      // Act: the database takes version 2 only, and the secret holds it.
      secret.version = 2;
      accepted.current = 2;
      const client = (await database.connect()) as unknown as { version: number };

      // Assess
      expect(client.version).toBe(2);
      expect(reads).toEqual([false, true]);
      expect(pools.map((p) => p.ended)).toEqual([true, false]);
    },
  );

  it('rebuilds once for connections refused in parallel by the same pool', async () => {
    // Prepare
    const accepted = { current: 1 };
    const { database, secret, reads, pools } = harness(accepted);
    await database.connect();
    secret.version = 2;
    accepted.current = 2;

    // Act: four partitions of one event connect at once.
    const clients = (await Promise.all([1, 2, 3, 4].map(() => database.connect()))) as unknown as {
      version: number;
    }[];

    // Assess
    expect(clients.map((c) => c.version)).toEqual([2, 2, 2, 2]);
    expect(reads).toEqual([false, true]);
    expect(pools).toHaveLength(2);
  });

  it('tries once only: while the secret still holds refused credentials the error goes up, and the next call reads again', async () => {
    // Prepare: the database already has version 2; the secret still says 1 (a rotation half-way).
    const accepted = { current: 2 };
    const { database, secret, reads } = harness(accepted);

    // Act
    const first = database.connect();

    // Assess
    await expect(first).rejects.toMatchObject({ code: '28P01' });
    expect(reads).toEqual([false, true]);

    // Act: the rotation finishes; the batch's retry connects.
    secret.version = 2;
    const client = (await database.connect()) as unknown as { version: number };

    // Assess
    expect(client.version).toBe(2);
    expect(reads).toEqual([false, true, true]);
  });

  it('passes other connection errors up without reading the secret again', async () => {
    // Prepare: PostgreSQL is down, whatever the credentials.
    const down = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const { database, reads, pools } = harness({ current: 0 }, down);

    // Act
    const connect = database.connect();

    // Assess
    await expect(connect).rejects.toThrow('ECONNREFUSED');
    expect(reads).toEqual([false]);
    expect(pools.map((p) => p.ended)).toEqual([false]);
  });

  it('forgets a pool whose build failed (the secret could not be read), so the next connection tries again', async () => {
    // Prepare
    let fail = true;
    const database = new DatabasePool(async () => {
      if (fail) throw new Error('Secrets Manager unreachable');
      return new FakePool(1, () => true) as unknown as pg.Pool;
    });

    // Act
    const first = database.connect();
    await expect(first).rejects.toThrow('Secrets Manager unreachable');
    fail = false;

    // Assess
    await expect(database.connect()).resolves.toBeDefined();
  });

  it('recognises the SQLSTATEs of refused credentials only', () => {
    expect(
      ['28P01', '28000', '08006', '57P01', 'ECONNRESET', undefined].map((code) => isAuthFailure({ code })),
    ).toEqual([true, true, false, false, false, false]);
  });
});
