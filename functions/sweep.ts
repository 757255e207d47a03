import { errorFields, log, withLambdaContext } from '../lib/log.ts';
import { publishMetrics, recordSweepFailure } from '../lib/metrics.ts';
import { createSweepRuntime } from '../lib/runtime/index.ts';
import { type SweepOutcome, sweepTopic } from '../lib/sweep/index.ts';

const runtime = createSweepRuntime();

/**
 * The scheduled idle flush (docs/STATE.md section 1): appends an idle tick to every partition of
 * KAFKA_TOPIC that holds open sessions and has had no event for IDLE_TIMEOUT_MS, so that
 * `sessionize` closes them when it reads the tick, as a function of the log alone. It changes no
 * state and no row itself. With IDLE_FLUSH=false it only refreshes old snapshots. Every log line
 * carries the invocation's request id, function name and cold start flag.
 */
export const handler = withLambdaContext(async (): Promise<SweepOutcome> => {
  try {
    return await sweepTopic(runtime.deps, runtime.config.topic);
  } catch (error) {
    // Nothing is lost: the next run decides again from the committed checkpoint.
    log.error('sweep failed; the next run tries again', {
      topic: runtime.config.topic,
      ...errorFields(error),
    });
    recordSweepFailure();
    throw error;
  } finally {
    publishMetrics();
  }
});
