import pg from 'pg';

/**
 * One pool per container, created outside the handler. Small: a Lambda container runs one
 * invocation at a time, so two connections cover the handler and a spare.
 */
export function createPool(connection: pg.ClientConfig, max: number): pg.Pool {
  const pool = new pg.Pool({
    ...connection,
    max,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 60_000,
    // Lambda freezes containers between invocations; keepalive avoids half-open sockets.
    keepAlive: true,
    // Let a short-lived process (serverless invoke local, scripts) exit once the pool is idle.
    allowExitOnIdle: true,
  });
  // An idle client losing its connection emits 'error' on the pool; without a listener that
  // would crash the process. The next checkout reconnects (or fails and is reported then).
  pool.on('error', () => undefined);
  return pool;
}
