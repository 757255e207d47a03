export { checkpointStore, dynamoClient } from './clients.ts';
export type { Runtime } from './sessionize-runtime.ts';
export { createRuntime } from './sessionize-runtime.ts';
export { createSweepRuntime } from './sweep-runtime.ts';
