export { tableGeneration } from './generation.ts';
export { handleKafkaEvent } from './handle-event.ts';
export { partitionLabel, processPartition } from './process-partition.ts';
export { type SweepDeps, sweepTopic, tickNeeded } from './sweep.ts';
export {
  createWarmState,
  type PartitionOutcome,
  type PipelineDeps,
  type PipelineSettings,
  type SweepOutcome,
  type WarmState,
} from './types.ts';
