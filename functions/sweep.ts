import { publishMetrics } from '../lib/metrics.ts';
import { type SweepOutcome, sweepTopic } from '../lib/pipeline/index.ts';
import { createRuntime } from '../lib/runtime.ts';

const runtime = createRuntime();

/**
 * The scheduled idle flush (DESIGN.md section 4): every partition of KAFKA_TOPIC that has
 * received nothing for IDLE_TIMEOUT_MS gets its watermark advanced by the silent wall-clock time,
 * firing the sessions that are due. IDLE_FLUSH=false turns it off (strict Flink behaviour).
 */
export const handler = async (): Promise<{ partitions: SweepOutcome[] }> => {
  try {
    return { partitions: await sweepTopic(runtime.deps, runtime.config.topic) };
  } finally {
    publishMetrics();
  }
};
