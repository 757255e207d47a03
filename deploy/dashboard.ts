/**
 * The CloudWatch dashboard of the stack (serverless.yml `SessionizerDashboard`, docs/DEPLOY.md
 * "Dashboard"): per function, what the job did and how long it took, from the EMF metrics of
 * lib/metrics.ts (namespace `sessionizer`, dimension `service`) and Lambda's own metrics
 * (`AWS/Lambda`, dimension `FunctionName`), including the Kafka event source mapping's OffsetLag.
 *
 * The body is returned as `Fn::Sub` of its JSON, so CloudFormation fills in the region, the
 * function names (`${SessionizeLambdaFunction}`: a Ref gives the name) and the alarm names.
 * deploy/observability.cjs hands it to osls while it resolves serverless.yml.
 */

export interface DashboardSettings {
  /** EMF namespace and `service` dimension (POWERTOOLS_METRICS_NAMESPACE / POWERTOOLS_SERVICE_NAME). */
  readonly namespace: string;
  readonly service: string;
  /** Shown as lines on the graphs they concern: the alarm thresholds and the function timeouts. */
  readonly watermarkLagAlarmMs: number;
  readonly lateRecordsAlarmPercent: number;
  readonly sessionizeTimeoutSeconds: number;
  readonly sweepTimeoutSeconds: number;
}

/** `${name}` in the Fn::Sub body: a pseudo parameter, or a resource's Ref (a function's name). */
const sub = (name: string) => `\${${name}}`;
const SESSIONIZE = sub('SessionizeLambdaFunction');
const SWEEP = sub('SweepLambdaFunction');
/** The alarms of serverless.yml, in the order the alarm widget lists them. */
const ALARM_IDS = [
  'OffsetLagGrowingAlarm',
  'WatermarkLagAlarm',
  'FailedBatchesAlarm',
  'LateRecordsAlarm',
  'SweepErrorsAlarm',
  'CheckpointLostAlarm',
  'MemoryExceededAlarm',
] as const;

type MetricLine = (string | Record<string, unknown>)[];
interface Widget {
  readonly type: 'metric' | 'text' | 'alarm';
  readonly width: number;
  readonly height: number;
  readonly properties: Record<string, unknown>;
}

const FULL = 24;
const THIRD = 8;
const HEIGHT = 6;

export function dashboardBody(settings: DashboardSettings): { 'Fn::Sub': string } {
  const emf = (metric: string, options: Record<string, unknown> = {}): MetricLine => [
    settings.namespace,
    metric,
    'service',
    settings.service,
    options,
  ];
  const lambda = (metric: string, fn: string, options: Record<string, unknown> = {}): MetricLine => [
    'AWS/Lambda',
    metric,
    'FunctionName',
    fn,
    options,
  ];
  const graph = (
    title: string,
    metrics: MetricLine[],
    extra: { stat?: string; horizontal?: { label: string; value: number }[]; unit?: string } = {},
  ): Widget => ({
    type: 'metric',
    width: THIRD,
    height: HEIGHT,
    properties: {
      title,
      region: sub('AWS::Region'),
      view: 'timeSeries',
      stacked: false,
      period: 60,
      stat: extra.stat ?? 'Sum',
      metrics,
      yAxis: {
        left: { min: 0, ...(extra.unit === undefined ? {} : { label: extra.unit, showUnits: false }) },
      },
      ...(extra.horizontal === undefined ? {} : { annotations: { horizontal: extra.horizontal } }),
    },
  });
  const text = (markdown: string): Widget => ({
    type: 'text',
    width: FULL,
    height: 2,
    properties: { markdown },
  });

  const widgets: Widget[] = [
    {
      type: 'alarm',
      width: FULL,
      height: 3,
      properties: {
        title: 'Alarms (docs/DEPLOY.md, "Alarms": what each means and what to do)',
        alarms: ALARM_IDS.map(
          (id) =>
            `arn:${sub('AWS::Partition')}:cloudwatch:${sub('AWS::Region')}:${sub('AWS::AccountId')}:alarm:${sub(id)}`,
        ),
      },
    },
    text(
      `## sessionize (${SESSIONIZE})\n` +
        'One point per partition batch. Event source: the Kafka event source mapping; a failed batch is retried, ' +
        'its partition waits.',
    ),
    graph('Records and sessions emitted', [
      emf('Records', { label: 'records' }),
      emf('SessionsEmitted', { label: 'sessions emitted' }),
      emf('RedeliveredRecordsSkipped', { label: 're-delivered, skipped' }),
      emf('IdleTicksRead', { label: 'idle ticks read' }),
    ]),
    graph('Rejected records by reason', [
      [
        {
          expression: `SEARCH('{${settings.namespace},Reason,service} MetricName="RejectedRecords" service="${settings.service}"', 'Sum', 60)`,
          id: 'rejects',
          label: '',
        },
      ],
    ]),
    graph(
      'Late records (% of records)',
      [
        emf('LateRecords', { id: 'late', label: 'late records', visible: false }),
        emf('Records', { id: 'records', visible: false }),
        [{ expression: 'IF(records > 0, 100 * late / records, 0)', id: 'latePercent', label: 'late %' }],
      ],
      { horizontal: [{ label: 'alarm', value: settings.lateRecordsAlarmPercent }], unit: '%' },
    ),
    graph('Watermark lag (wall clock - watermark)', [emf('WatermarkLag', { label: 'max' })], {
      stat: 'Maximum',
      horizontal: [{ label: 'alarm', value: settings.watermarkLagAlarmMs }],
      unit: 'ms',
    }),
    graph(
      'Offset lag (event source mapping)',
      [lambda('OffsetLag', SESSIONIZE, { label: 'max over partitions' })],
      {
        stat: 'Maximum',
        unit: 'records',
      },
    ),
    graph(
      'Batch duration',
      [
        emf('BatchDuration', { stat: 'p50', label: 'p50' }),
        emf('BatchDuration', { stat: 'p99', label: 'p99' }),
        emf('BatchDuration', { stat: 'Maximum', label: 'max' }),
      ],
      { stat: 'p50', unit: 'ms' },
    ),
    graph(
      'Time in DynamoDB and PostgreSQL (per batch)',
      [
        emf('DynamoDbTime', { stat: 'Average', label: 'DynamoDB avg' }),
        emf('DynamoDbTime', { stat: 'p99', label: 'DynamoDB p99' }),
        emf('PostgresTime', { stat: 'Average', label: 'PostgreSQL avg' }),
        emf('PostgresTime', { stat: 'p99', label: 'PostgreSQL p99' }),
      ],
      { stat: 'Average', unit: 'ms' },
    ),
    graph('Failed batches, lost checkpoints, offset gaps, partitions too large', [
      emf('FailedBatches', { label: 'failed batches' }),
      emf('CheckpointLost', { label: 'checkpoint lost' }),
      emf('OffsetGap', { label: 'offsets missing' }),
      emf('PartitionMemoryExceeded', { label: 'partition too large for the memory' }),
    ]),
    graph('Invocations, errors, throttles', [
      lambda('Invocations', SESSIONIZE, { label: 'invocations' }),
      lambda('Errors', SESSIONIZE, { label: 'errors' }),
      lambda('Throttles', SESSIONIZE, { label: 'throttles' }),
    ]),
    graph(
      'Duration and concurrency',
      [
        lambda('Duration', SESSIONIZE, { stat: 'p99', label: 'duration p99' }),
        lambda('ConcurrentExecutions', SESSIONIZE, { stat: 'Maximum', label: 'concurrency', yAxis: 'right' }),
      ],
      { stat: 'p99', horizontal: [{ label: 'timeout', value: settings.sessionizeTimeoutSeconds * 1000 }] },
    ),
    graph(
      'Warm cache: state kept between batches (WARM_CACHE_MB)',
      [
        emf('WarmCacheBytes', { stat: 'Maximum', label: 'max per container' }),
        emf('WarmCacheEvictions', { stat: 'Sum', label: 'partitions forgotten', yAxis: 'right' }),
      ],
      { stat: 'Maximum', unit: 'bytes' },
    ),
    text(
      `## sweep (${SWEEP})\nThe idle flush: every run appends idle ticks to quiet partitions; it writes no state and no row.`,
    ),
    graph('Ticks sent, checkpoints expiring, partition count changed', [
      emf('IdleTicksSent', { label: 'idle ticks' }),
      emf('RefreshTicksSent', { label: 'snapshot refresh ticks' }),
      emf('CheckpointsExpiring', { label: 'checkpoints expiring within a day' }),
      emf('PartitionCountChanged', { label: 'topic partition count changed' }),
    ]),
    graph('Invocations, errors, throttles, failed runs', [
      lambda('Invocations', SWEEP, { label: 'invocations' }),
      lambda('Errors', SWEEP, { label: 'errors' }),
      lambda('Throttles', SWEEP, { label: 'throttles' }),
      emf('SweepFailures', { label: 'failed runs (logged)' }),
    ]),
    graph('Duration', [lambda('Duration', SWEEP, { stat: 'Maximum', label: 'max' })], {
      stat: 'Maximum',
      horizontal: [{ label: 'timeout', value: settings.sweepTimeoutSeconds * 1000 }],
      unit: 'ms',
    }),
  ];
  return { 'Fn::Sub': JSON.stringify({ widgets: layout(widgets) }) };
}

/** Places widgets left to right, top to bottom, on the dashboard's 24-column grid. */
function layout(widgets: readonly Widget[]): (Widget & { x: number; y: number })[] {
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  return widgets.map((widget) => {
    if (x + widget.width > FULL) {
      x = 0;
      y += rowHeight;
      rowHeight = 0;
    }
    const placed = { ...widget, x, y };
    x += widget.width;
    rowHeight = Math.max(rowHeight, widget.height);
    return placed;
  });
}
