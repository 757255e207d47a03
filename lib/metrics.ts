import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/**
 * CloudWatch metrics as Embedded Metric Format lines on stdout (Powertools Metrics): CloudWatch
 * Logs turns them into metrics on AWS, and offline they appear in the `serverless offline` output
 * next to the batch log lines. One Metrics object per container; the handlers publish what an
 * invocation recorded when it ends (publishMetrics), and nothing when nothing was recorded.
 *
 * Namespace `sessionizer` (POWERTOOLS_METRICS_NAMESPACE), dimension `service`; rejections also by
 * `Reason`. POWERTOOLS_METRICS_DISABLED=true turns them off (the tests and the benchmark do).
 *
 * This module knows the shapes it reports, not the pipeline's types: dependencies point inward.
 */
const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE || 'sessionizer',
  serviceName: process.env.POWERTOOLS_SERVICE_NAME || 'sessionizer',
});

/** A wall-clock lag beyond this says the event times are not wall-clock times (a replay, the 1970 demo). */
const MEANINGFUL_LAG_MS = 365 * 86_400_000;

export interface BatchFigures {
  readonly records: number;
  readonly skipped: number;
  readonly ticks: number;
  readonly emitted: number;
  readonly earlyFired: number;
  readonly late: number;
  readonly rejected: Partial<Record<string, number>>;
  readonly watermark: number | null;
  readonly lastLogTime: number | null;
  readonly offsetGap: number;
  readonly diverted: number;
  readonly durationMs: number;
  readonly dynamodbMs: number;
  readonly postgresMs: number;
  /** The container's warm cache after the batch (lib/pipeline/warm-cache.ts). */
  readonly warmBytes?: number;
  readonly evicted?: readonly string[];
}

/** What one partition's batch did: records, sessions, rejects by reason, lateness and time. */
export function recordBatchMetrics(batch: BatchFigures, nowMs: number): void {
  metrics.addMetric('Records', MetricUnit.Count, batch.records);
  if (batch.skipped > 0) metrics.addMetric('RedeliveredRecordsSkipped', MetricUnit.Count, batch.skipped);
  if (batch.ticks > 0) metrics.addMetric('IdleTicksRead', MetricUnit.Count, batch.ticks);
  if (batch.offsetGap > 0) metrics.addMetric('OffsetGap', MetricUnit.Count, batch.offsetGap);
  if (batch.diverted > 0) metrics.addMetric('UnwritableRecords', MetricUnit.Count, batch.diverted);
  metrics.addMetric('SessionsEmitted', MetricUnit.Count, batch.emitted);
  if (batch.earlyFired > 0) metrics.addMetric('SessionsFiredEarly', MetricUnit.Count, batch.earlyFired);
  metrics.addMetric('LateRecords', MetricUnit.Count, batch.late);
  for (const [reason, count] of Object.entries(batch.rejected)) {
    const single = metrics.singleMetric();
    single.addDimension('Reason', reason);
    single.addMetric('RejectedRecords', MetricUnit.Count, count ?? 0);
  }
  if (batch.watermark !== null && batch.lastLogTime !== null) {
    // How far event time lags the wall clock: a growing lag is a consumer falling behind (or a
    // producer stamping old times). Left out when event times are not wall-clock times at all.
    const lag = Math.max(0, nowMs - batch.watermark);
    if (batch.lastLogTime - batch.watermark < MEANINGFUL_LAG_MS) {
      metrics.addMetric('WatermarkLag', MetricUnit.Milliseconds, lag);
    }
  }
  metrics.addMetric('BatchDuration', MetricUnit.Milliseconds, batch.durationMs);
  metrics.addMetric('DynamoDbTime', MetricUnit.Milliseconds, batch.dynamodbMs);
  metrics.addMetric('PostgresTime', MetricUnit.Milliseconds, batch.postgresMs);
  // The partitions' state this container keeps between batches (WARM_CACHE_MB bounds it), and the
  // partitions it forgot to stay within the bound (each comes back as a cold load).
  if (batch.warmBytes !== undefined) metrics.addMetric('WarmCacheBytes', MetricUnit.Bytes, batch.warmBytes);
  if (batch.evicted !== undefined && batch.evicted.length > 0) {
    metrics.addMetric('WarmCacheEvictions', MetricUnit.Count, batch.evicted.length);
  }
}

/** A partition batch that threw (the event source retries it); lost state is counted apart. */
export function recordBatchFailure(error: unknown): void {
  metrics.addMetric('FailedBatches', MetricUnit.Count, 1);
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'CHECKPOINT_LOST' || code === 'CHECKPOINT_INCOMPATIBLE' || code === 'SETTINGS_CHANGED') {
    metrics.addMetric('CheckpointLost', MetricUnit.Count, 1);
  } else if (code === 'SINK_DATA') {
    metrics.addMetric('SinkRefusedData', MetricUnit.Count, 1);
  } else if (code === 'PARTITION_TOO_LARGE') {
    metrics.addMetric('PartitionMemoryExceeded', MetricUnit.Count, 1);
  }
}

/**
 * One sweep run: the idle ticks it appended, and the partitions whose checkpoint expires within a
 * day (nothing is recorded for a run that did nothing).
 */
export function recordSweepMetrics(
  idleTicks: number,
  refreshTicks: number,
  expiring = 0,
  partitionCountChanged = false,
): void {
  if (idleTicks > 0) metrics.addMetric('IdleTicksSent', MetricUnit.Count, idleTicks);
  if (refreshTicks > 0) metrics.addMetric('RefreshTicksSent', MetricUnit.Count, refreshTicks);
  if (expiring > 0) metrics.addMetric('CheckpointsExpiring', MetricUnit.Count, expiring);
  // The topic's partition count differs from the checkpoint's (docs/DEPLOY.md, "Adding partitions").
  if (partitionCountChanged) metrics.addMetric('PartitionCountChanged', MetricUnit.Count, 1);
}

export function recordSweepFailure(): void {
  metrics.addMetric('SweepFailures', MetricUnit.Count, 1);
}

/** Writes the stored metrics as one EMF line (and nothing when none were recorded). */
export function publishMetrics(): void {
  if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
}
