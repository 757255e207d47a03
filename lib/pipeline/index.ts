export { handleKafkaEvent } from './handle-event.ts';
export { parseBatch, parseOptions } from './parse-batch.ts';
export { partitionLabel, processPartition } from './process-partition.ts';
export {
  describeSettings,
  newGeneration,
  recordedSettings,
  settingsDifferences,
  tableGeneration,
} from './table-generation.ts';
export {
  createWarmState,
  type PartitionOutcome,
  type PipelineDeps,
  type PipelineSettings,
  type WarmState,
} from './types.ts';
export { PEAK_FACTOR, RESERVE_BYTES } from './warm-cache.ts';
