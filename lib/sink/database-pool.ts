import type pg from 'pg';
import { errorFields, log } from '../log.ts';

/**
 * PostgreSQL's "the credentials are not accepted" (SQLSTATE class 28): 28P01 invalid_password,
 * 28000 invalid_authorization_specification (the role may not log in, or no longer exists).
 */
const AUTH_FAILURES = new Set(['28P01', '28000']);

export function isAuthFailure(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && AUTH_FAILURES.has(code);
}

/** Where PostgresSink gets its connections: a pg.Pool, or a DatabasePool around one. */
export interface ConnectionSource {
  connect(): Promise<pg.PoolClient>;
}

/**
 * The container's PostgreSQL pool, built at the first connection (on AWS that reads the database
 * secret) and rebuilt when PostgreSQL refuses its credentials.
 *
 * Why: a warm container keeps its pool for hours, and its pool opens new connections with the
 * credentials it was built with. After the secret rotates (RDS-managed secrets every 7 days by
 * default) PostgreSQL refuses them; the connections already open keep working, so this shows at
 * the next new connection. Then the pool is dropped (its open connections finish their work
 * first), the secret is read again past its cache (`open(true)`), and the connection is tried once
 * more on the new pool. If that fails too (the rotation is half-way: the database has the new
 * password, the secret's AWSCURRENT not yet), the error goes up and the batch is retried later,
 * which reads the secret again.
 *
 * Partitions of one event run in parallel: connections refused by the same pool share one rebuild,
 * and a connection that meets a pool another one just dropped moves to the new pool too.
 */
export class DatabasePool implements ConnectionSource {
  #pool: Promise<pg.Pool> | undefined;
  #open: pg.Pool | undefined;
  #renewal: { readonly dropped: pg.Pool; readonly next: Promise<pg.Pool> } | undefined;

  /** `open(fresh)` builds a pool; `fresh` reads the secret past its cache. */
  constructor(private readonly open: (fresh: boolean) => Promise<pg.Pool>) {}

  async connect(): Promise<pg.PoolClient> {
    const pool = await this.current();
    try {
      return await pool.connect();
    } catch (error) {
      const droppedMeanwhile = this.#renewal?.dropped === pool;
      if (!isAuthFailure(error) && !droppedMeanwhile) throw error;
      const next = await this.renew(pool, error);
      return next.connect();
    }
  }

  /** Connections the current pool holds (0 before the first): for tests and diagnostics. */
  get connections(): number {
    return this.#open?.totalCount ?? 0;
  }

  async end(): Promise<void> {
    const pool = this.#pool;
    this.#pool = undefined;
    this.#open = undefined;
    if (pool !== undefined) await (await pool).end();
  }

  private current(): Promise<pg.Pool> {
    this.#pool ??= this.build(false);
    return this.#pool;
  }

  private renew(dropped: pg.Pool, error: unknown): Promise<pg.Pool> {
    if (this.#renewal?.dropped === dropped) return this.#renewal.next;
    log.warn('PostgreSQL refused the credentials: reading the database secret again (rotated?)', {
      ...errorFields(error),
    });
    const next = this.build(true);
    this.#renewal = { dropped, next };
    this.#pool = next;
    // Idle connections close now; connections in use finish their transaction first.
    dropped.end().catch(() => undefined);
    return next;
  }

  /** A pool whose build failed is forgotten, so the next connection tries again. */
  private build(fresh: boolean): Promise<pg.Pool> {
    const building = this.open(fresh).then((pool) => {
      if (this.#pool === building) this.#open = pool;
      return pool;
    });
    building.catch(() => {
      if (this.#pool === building) this.#pool = undefined;
    });
    return building;
  }
}
