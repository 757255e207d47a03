import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { PartitionOutcome, SweepOutcome } from './pipeline/types.ts';

/**
 * CloudWatch metrics as Embedded Metric Format lines on stdout (Powertools Metrics): CloudWatch
 * Logs turns them into metrics on AWS, and offline they appear in the `serverless offline` output
 * next to the batch log lines. One Metrics object per container; the handlers publish what a batch
 * recorded when the invocation ends (publishMetrics).
 *
 * Namespace `sessionizer` (POWERTOOLS_METRICS_NAMESPACE), dimension `service`; rejections also by
 * `Reason`. POWERTOOLS_METRICS_DISABLED=true turns them off (the tests and the benchmark do).
 */
const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE || 'sessionizer',
  serviceName: process.env.POWERTOOLS_SERVICE_NAME || 'sessionizer',
});

/** What one partition's batch did: records, sessions, rejects by reason, lateness and time. */
export function recordBatchMetrics(outcome: PartitionOutcome, nowMs: number): void {
  metrics.addMetric('Records', MetricUnit.Count, outcome.records);
  if (outcome.skipped > 0) metrics.addMetric('RedeliveredRecordsSkipped', MetricUnit.Count, outcome.skipped);
  metrics.addMetric('SessionsEmitted', MetricUnit.Count, outcome.emitted);
  metrics.addMetric('LateRecords', MetricUnit.Count, outcome.late);
  for (const [reason, count] of Object.entries(outcome.rejected)) {
    const single = metrics.singleMetric();
    single.addDimension('Reason', reason);
    single.addMetric('RejectedRecords', MetricUnit.Count, count ?? 0);
  }
  if (outcome.watermark !== null) {
    // How far event time lags the wall clock: a growing lag is a consumer falling behind (or a
    // producer replaying old data).
    metrics.addMetric('WatermarkLag', MetricUnit.Milliseconds, Math.max(0, nowMs - outcome.watermark));
  }
  metrics.addMetric('BatchDuration', MetricUnit.Milliseconds, outcome.durationMs);
  metrics.addMetric('DynamoDbTime', MetricUnit.Milliseconds, outcome.dynamodbMs);
  metrics.addMetric('PostgresTime', MetricUnit.Milliseconds, outcome.postgresMs);
}

/** A partition batch that threw (the event source retries it). */
export function recordBatchFailure(): void {
  metrics.addMetric('FailedBatches', MetricUnit.Count, 1);
}

/** An idle flush that advanced a partition: the sessions it closed and its time. */
export function recordSweepMetrics(outcome: SweepOutcome, nowMs: number): void {
  if (outcome.action !== 'advanced') return;
  metrics.addMetric('IdleAdvances', MetricUnit.Count, 1);
  metrics.addMetric('SessionsEmitted', MetricUnit.Count, outcome.emitted);
  metrics.addMetric('WatermarkLag', MetricUnit.Milliseconds, Math.max(0, nowMs - outcome.watermark));
  metrics.addMetric('DynamoDbTime', MetricUnit.Milliseconds, outcome.dynamodbMs);
  metrics.addMetric('PostgresTime', MetricUnit.Milliseconds, outcome.postgresMs);
}

/** Writes the stored metrics as one EMF line (and nothing when none were recorded). */
export function publishMetrics(): void {
  if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
}
