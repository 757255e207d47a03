export { type DatabaseSettings, type DatabaseSsl, resolveConnection } from './connection.ts';
export { ensureDatabase, migrate } from './migrate.ts';
export { createPool } from './pool.ts';
export { mapPgError, PostgresSink } from './postgres-sink.ts';
export { sessionRows, utcTimestamp } from './rows.ts';
export type { Sink, SinkBatch, SinkFence, SinkResult } from './types.ts';
