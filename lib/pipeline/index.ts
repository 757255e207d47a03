export { processPartition } from './batch.ts';
export { handleKafkaEvent, sweepTopic } from './handle.ts';
export { redoPendingSweep, sweepPartition } from './sweep.ts';
export { commitTransition } from './transition.ts';
export type { PartitionOutcome, PipelineDeps, PipelineSettings, SweepOutcome } from './types.ts';
