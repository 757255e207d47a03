import pg from 'pg';

/** How long the sink waits for PostgreSQL before it reports the write as failed (and retryable). */
export interface PoolTimeouts {
  /** TCP connect plus PostgreSQL's startup handshake. */
  readonly connectMs: number;
  /** One statement: client-side (a silent network) and server-side (statement_timeout). */
  readonly queryMs: number;
}

export const DEFAULT_POOL_TIMEOUTS: PoolTimeouts = { connectMs: 5_000, queryMs: 20_000 };

/**
 * One pool per container, created outside the handler. Small: a Lambda container runs one
 * invocation at a time, but its partitions' transitions run in parallel, one connection each
 * while it writes (DATABASE_POOL_SIZE, default 2: more partitions per event wait for a turn).
 *
 * Every wait is bounded, so a PostgreSQL that refuses connections, or a network that silently drops
 * everything, fails the batch within seconds (it is retried) instead of hanging the job until the
 * Lambda timeout (docs/STATE.md): connect and query timeouts on the client; statement_timeout on the
 * server; idle_in_transaction_session_timeout so that the server rolls back a transaction whose
 * client vanished mid-way and frees its row locks (the fence row of its partition); TCP keepalive on
 * both sides so half-open connections (Lambda freezes containers between invocations) are noticed.
 */
export function createPool(
  connection: pg.ClientConfig,
  max: number,
  timeouts = DEFAULT_POOL_TIMEOUTS,
): pg.Pool {
  const pool = new pg.Pool({
    ...connection,
    max,
    connectionTimeoutMillis: timeouts.connectMs,
    query_timeout: timeouts.queryMs,
    statement_timeout: timeouts.queryMs,
    idle_in_transaction_session_timeout: timeouts.queryMs * 2,
    idleTimeoutMillis: 60_000,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    // Let a short-lived process (serverless invoke local, scripts) exit once the pool is idle.
    allowExitOnIdle: true,
  });
  // An idle client losing its connection emits 'error' on the pool; without a listener that
  // would crash the process. The next checkout reconnects (or fails and is reported then).
  pool.on('error', () => undefined);
  return pool;
}
