/**
 * In-memory stand-ins with the same conditions as DynamoCheckpointStore and PostgresSink, for the
 * property tests of docs/STATE.md section 4.
 */
export { Crash, MemoryStore, type Step } from './memory-checkpoint.ts';
export { MemorySink, type Row } from './memory-sink.ts';
