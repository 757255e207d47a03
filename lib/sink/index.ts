export { int8Array, timestampArray, varcharArray } from './binary-array.ts';
export {
  type DatabaseSettings,
  type DatabaseSsl,
  resolveConnection,
} from './database-connection.ts';
export { type ConnectionSource, DatabasePool, isAuthFailure } from './database-pool.ts';
export { ensureDatabase, migrate } from './migrate.ts';
export { createPool } from './pool.ts';
export { mapPgError, PostgresSink, ROWS_PER_STATEMENT } from './postgres-sink.ts';
export { sessionRows } from './rows.ts';
export type { Sink, SinkBatch, SinkFence, SinkResult, WriteMode, WriteOptions } from './types.ts';
