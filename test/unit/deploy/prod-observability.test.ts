import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Packaged, packageService, REPO } from './support/package.ts';
import type { Json, JsonObject, Resource } from './support/template.ts';

// The dashboard and the alarms of the prod stack (docs/DEPLOY.md, "Dashboard", "Alarms"), read from
// the packaged template of examples/params.prod.yml, with and without an SNS topic for the alarms.

const TOPIC = 'arn:aws:sns:us-east-1:111122223333:sessionizer-alarms';
const SESSIONIZE = '<SessionizeLambdaFunction>';
const SWEEP = '<SweepLambdaFunction>';
const EMF = { namespace: 'sessionizer', dimensions: ['service', 'sessionizer'] };

let plain: Packaged;
let notified: Packaged;

beforeAll(async () => {
  plain = await packageService({ stage: 'prod', paramsFile: 'examples/params.prod.yml' });
  notified = await packageService({
    stage: 'prod',
    paramsFile: 'examples/params.prod.yml',
    overrides: { alarmTopicArn: TOPIC, watermarkLagAlarmMs: 300_000 },
  });
}, 180_000);

afterAll(() => {
  plain?.cleanUp();
  notified?.cleanUp();
});

/** The metrics lib/metrics.ts publishes (EMF): the names it passes to addMetric. */
const PUBLISHED = new Set(
  [...readFileSync(join(REPO, 'lib/metrics.ts'), 'utf8').matchAll(/addMetric\('(\w+)'/g)].map((m) => m[1]),
);

interface Widget {
  type: string;
  x: number;
  y: number;
  width: number;
  height: number;
  properties: {
    title?: string;
    markdown?: string;
    alarms?: string[];
    stat?: string;
    metrics?: (string | JsonObject)[][];
    annotations?: { horizontal: { label: string; value: number }[] };
  };
}

/** A graphed metric: namespace, name, dimensions, and the options of its line. */
interface Line {
  namespace: string;
  name: string;
  dimensions: string[];
  options: JsonObject;
}

const dashboard = (pkg: Packaged) => {
  const body = pkg.template.resource('SessionizerDashboard').properties.DashboardBody;
  expect(typeof body).toBe('string');
  return (JSON.parse(body as string) as { widgets: Widget[] }).widgets;
};

/** The widgets of a function's section: from its heading to the next heading. */
function section(widgets: readonly Widget[], fn: string): Widget[] {
  const start = widgets.findIndex((w) => w.properties.markdown?.includes(fn));
  const rest = widgets.slice(start + 1);
  const end = rest.findIndex((w) => w.type === 'text');
  expect(start).toBeGreaterThanOrEqual(0);
  return end < 0 ? rest : rest.slice(0, end);
}

function lines(widget: Widget): Line[] {
  return (widget.properties.metrics ?? [])
    .filter((m) => typeof m[0] === 'string')
    .map((m) => {
      const strings = m.filter((x): x is string => typeof x === 'string');
      const options = (m.find((x) => typeof x !== 'string') ?? {}) as JsonObject;
      return { namespace: strings[0] ?? '', name: strings[1] ?? '', dimensions: strings.slice(2), options };
    });
}

const expressions = (widget: Widget) =>
  (widget.properties.metrics ?? []).flatMap((m) =>
    m
      .filter((x): x is JsonObject => typeof x !== 'string' && 'expression' in x)
      .map((x) => String(x.expression)),
  );

const graphed = (widgets: readonly Widget[]) => widgets.flatMap(lines);

const alarms = (pkg: Packaged) => pkg.template.ofType('AWS::CloudWatch::Alarm');
const alarm = (pkg: Packaged, id: string) => pkg.template.resource(id).properties;

/** The metrics an alarm reads: its own, or those of its metric math. */
function alarmMetrics(
  resource: Resource,
): { namespace: string; name: string; dimensions: Json; stat: string }[] {
  const p = resource.properties;
  if (p.MetricName !== undefined) {
    return [
      {
        namespace: String(p.Namespace),
        name: String(p.MetricName),
        dimensions: p.Dimensions ?? null,
        stat: String(p.Statistic),
      },
    ];
  }
  return ((p.Metrics ?? []) as JsonObject[])
    .filter((m) => m.MetricStat !== undefined)
    .map((m) => {
      const stat = m.MetricStat as JsonObject;
      const metric = stat.Metric as JsonObject;
      return {
        namespace: String(metric.Namespace),
        name: String(metric.MetricName),
        dimensions: metric.Dimensions ?? null,
        stat: String(stat.Stat),
      };
    });
}

describe('serverless.yml, prod stage: the dashboard', () => {
  it('is one dashboard named after the stack, laid out on the 24-column grid without overlaps', () => {
    // Prepare
    const widgets = dashboard(plain);
    const cells = new Set<string>();

    // Assess
    expect(plain.template.resource('SessionizerDashboard').properties.DashboardName).toBe('sessionizer-prod');
    for (const w of widgets) {
      expect(w.x + w.width, JSON.stringify(w.properties.title)).toBeLessThanOrEqual(24);
      for (let x = w.x; x < w.x + w.width; x++) {
        for (let y = w.y; y < w.y + w.height; y++) {
          expect(cells.has(`${x},${y}`), `overlap at ${x},${y}`).toBe(false);
          cells.add(`${x},${y}`);
        }
      }
    }
  });

  it('shows the state of every alarm of the stack at the top', () => {
    // Prepare
    const [first] = dashboard(plain);
    const ids = alarms(plain).map((a) => a.id);

    // Assess
    expect(first?.type).toBe('alarm');
    expect(first?.properties.alarms).toEqual(
      ids.map((id) => `arn:aws:cloudwatch:us-east-1:111122223333:alarm:<${id}>`),
    );
  });

  it.each([
    ['records', 'Records'],
    ['sessions emitted', 'SessionsEmitted'],
    ['late records', 'LateRecords'],
    ['watermark lag', 'WatermarkLag'],
    ['batch duration', 'BatchDuration'],
    ['DynamoDB time', 'DynamoDbTime'],
    ['PostgreSQL time', 'PostgresTime'],
    ['failed batches', 'FailedBatches'],
    ['lost checkpoints', 'CheckpointLost'],
    ['partitions too large for the memory', 'PartitionMemoryExceeded'],
    ['the warm cache', 'WarmCacheBytes'],
    ['partitions the warm cache forgot', 'WarmCacheEvictions'],
  ])('sessionize: %s (%s, EMF)', (_, metric) => {
    // Prepare
    const found = graphed(section(dashboard(plain), SESSIONIZE)).filter((l) => l.name === metric);

    // Assess
    expect(found.length).toBeGreaterThan(0);
    for (const l of found) expect([l.namespace, l.dimensions]).toEqual([EMF.namespace, EMF.dimensions]);
  });

  it('sessionize: rejects by reason, one line per Reason through a SEARCH of the RejectedRecords streams', () => {
    // Prepare
    const rejects = section(dashboard(plain), SESSIONIZE).find((w) =>
      w.properties.title?.startsWith('Rejected'),
    );

    // Assess
    expect(rejects === undefined ? [] : expressions(rejects)).toEqual([
      `SEARCH('{sessionizer,Reason,service} MetricName="RejectedRecords" service="sessionizer"', 'Sum', 60)`,
    ]);
  });

  it.each([
    ['errors', 'Errors'],
    ['throttles', 'Throttles'],
    ['invocations', 'Invocations'],
    ["the event source mapping's offset lag", 'OffsetLag'],
  ])('sessionize: %s (AWS/Lambda %s of the function)', (_, metric) => {
    expect(graphed(section(dashboard(plain), SESSIONIZE))).toContainEqual(
      expect.objectContaining({
        namespace: 'AWS/Lambda',
        name: metric,
        dimensions: ['FunctionName', SESSIONIZE],
      }),
    );
  });

  it('sessionize: offset lag as the maximum, watermark lag with the alarm threshold drawn in', () => {
    // Prepare
    const widgets = section(dashboard(notified), SESSIONIZE);
    const offset = widgets.find((w) => lines(w).some((l) => l.name === 'OffsetLag'));
    const watermark = widgets.find((w) => lines(w).some((l) => l.name === 'WatermarkLag'));

    // Assess
    expect(offset?.properties.stat).toBe('Maximum');
    expect(watermark?.properties.stat).toBe('Maximum');
    expect(watermark?.properties.annotations?.horizontal).toEqual([{ label: 'alarm', value: 300_000 }]);
  });

  it.each([
    ['idle ticks sent', 'sessionizer', 'IdleTicksSent'],
    ['refresh ticks sent', 'sessionizer', 'RefreshTicksSent'],
    ['failed runs', 'sessionizer', 'SweepFailures'],
    ['errors', 'AWS/Lambda', 'Errors'],
    ['throttles', 'AWS/Lambda', 'Throttles'],
    ['duration', 'AWS/Lambda', 'Duration'],
  ])('sweep: %s (%s %s)', (_, namespace, metric) => {
    const found = graphed(section(dashboard(plain), SWEEP)).find((l) => l.name === metric);
    expect(found?.namespace).toBe(namespace);
    expect(found?.dimensions).toEqual(namespace === 'AWS/Lambda' ? ['FunctionName', SWEEP] : EMF.dimensions);
  });

  it('graphs only EMF metrics that lib/metrics.ts publishes', () => {
    const emf = graphed(dashboard(plain)).filter((l) => l.namespace === EMF.namespace);
    expect(emf.map((l) => l.name).filter((name) => !PUBLISHED.has(name))).toEqual([]);
  });
});

describe('serverless.yml, prod stage: the alarms', () => {
  it('are the seven of docs/DEPLOY.md, named after the stack', () => {
    expect(
      alarms(plain)
        .map((a) => String(a.properties.AlarmName))
        .sort(),
    ).toEqual(
      [
        'checkpoint-lost',
        'failed-batches',
        'late-records',
        'memory-exceeded',
        'offset-lag-growing',
        'sweep-errors',
        'watermark-lag',
      ].map((n) => `sessionizer-prod-${n}`),
    );
  });

  it('notify the SNS topic of alarmTopicArn when they fire and when they recover', () => {
    for (const a of alarms(notified)) {
      expect([a.id, a.properties.AlarmActions, a.properties.OKActions]).toEqual([a.id, [TOPIC], [TOPIC]]);
    }
  });

  it('notify nobody without a topic (they still show on the dashboard)', () => {
    for (const a of alarms(plain)) {
      expect([a.id, a.properties.AlarmActions, a.properties.OKActions]).toEqual([a.id, [], []]);
    }
  });

  it('treat missing data as fine: metrics are only published when batches run', () => {
    for (const a of alarms(plain))
      expect([a.id, a.properties.TreatMissingData]).toEqual([a.id, 'notBreaching']);
  });

  it("offset lag growing: the mapping's OffsetLag, growth above the floor in 12 of 15 minutes", () => {
    // Prepare
    const p = alarm(plain, 'OffsetLagGrowingAlarm');

    // Assess
    expect(alarmMetrics(plain.template.resource('OffsetLagGrowingAlarm'))).toEqual([
      {
        namespace: 'AWS/Lambda',
        name: 'OffsetLag',
        dimensions: [{ Name: 'FunctionName', Value: SESSIONIZE }],
        stat: 'Maximum',
      },
    ]);
    expect(p.Metrics).toContainEqual(
      expect.objectContaining({ Expression: 'IF(lag > 1000, DIFF(lag), 0)', ReturnData: true }),
    );
    expect(p).toMatchObject({
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      EvaluationPeriods: 15,
      DatapointsToAlarm: 12,
    });
  });

  it('watermark lag: its maximum over the threshold (param) for 5 minutes', () => {
    expect(alarm(notified, 'WatermarkLagAlarm')).toMatchObject({
      Namespace: 'sessionizer',
      MetricName: 'WatermarkLag',
      Dimensions: [{ Name: 'service', Value: 'sessionizer' }],
      Statistic: 'Maximum',
      Period: 60,
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 300_000,
      EvaluationPeriods: 5,
      DatapointsToAlarm: 5,
    });
  });

  it('failed batches: at least one in each of 5 minutes', () => {
    expect(alarm(plain, 'FailedBatchesAlarm')).toMatchObject({
      MetricName: 'FailedBatches',
      Statistic: 'Sum',
      Period: 60,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      EvaluationPeriods: 5,
      DatapointsToAlarm: 5,
    });
  });

  it('late records: over 1 % of the records in three 5-minute periods running', () => {
    // Prepare
    const p = alarm(plain, 'LateRecordsAlarm');

    // Assess
    expect(alarmMetrics(plain.template.resource('LateRecordsAlarm')).map((m) => [m.name, m.stat])).toEqual([
      ['LateRecords', 'Sum'],
      ['Records', 'Sum'],
    ]);
    expect(p.Metrics).toContainEqual(
      expect.objectContaining({ Expression: 'IF(records > 0, 100 * late / records, 0)', ReturnData: true }),
    );
    expect(p).toMatchObject({ Threshold: 1, EvaluationPeriods: 3, DatapointsToAlarm: 3 });
  });

  it("sweep errors: the sweep function's Lambda Errors (timeouts and start-up failures included) in 3 runs in a row", () => {
    expect(alarm(plain, 'SweepErrorsAlarm')).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: SWEEP }],
      Statistic: 'Sum',
      Threshold: 1,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
    });
  });

  it('checkpoint lost: at the first refused batch', () => {
    expect(alarm(plain, 'CheckpointLostAlarm')).toMatchObject({
      MetricName: 'CheckpointLost',
      Statistic: 'Sum',
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      EvaluationPeriods: 1,
    });
  });

  it('memory exceeded: at the first partition refused for its size', () => {
    expect(alarm(plain, 'MemoryExceededAlarm')).toMatchObject({
      MetricName: 'PartitionMemoryExceeded',
      Statistic: 'Sum',
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      EvaluationPeriods: 1,
    });
  });

  it('read only EMF metrics that lib/metrics.ts publishes, with its dimension, and no SEARCH (alarms cannot)', () => {
    for (const a of alarms(plain)) {
      for (const m of alarmMetrics(a).filter((x) => x.namespace === EMF.namespace)) {
        expect([a.id, m.name, PUBLISHED.has(m.name)]).toEqual([a.id, m.name, true]);
        expect(m.dimensions).toEqual([{ Name: 'service', Value: 'sessionizer' }]);
      }
      expect(JSON.stringify(a.properties)).not.toContain('SEARCH');
    }
  });
});
