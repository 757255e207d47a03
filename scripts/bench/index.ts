/**
 * npm run bench [-- options]: the three tiers (engine, handler, end-to-end) and their floor
 * references, on this machine, against the local services (started when not running). Progress
 * on stderr; the summary table (Markdown) on stdout; everything as JSON in --json.
 * `npm run bench -- --help` lists the options.
 */
import '../local-env.ts';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, platform, release, totalmem } from 'node:os';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { serviceSettings, servicesUp } from '../services/index.ts';
import { paths } from '../services/paths.ts';
import { startChild } from './children.ts';
import { type E2eResult, type FlinkResult, runE2e } from './e2e.ts';
import type { HandlerRun } from './handler-tier.ts';
import { NEXMARK_DEFAULT_RATE } from './nexmark.ts';
import { type NexmarkResult, runNexmark } from './nexmark-tier.ts';
import { fmt, ProgressLine } from './progress.ts';
import type { TierRow } from './protocol.ts';
import type { ReloadResult } from './reload-tier.ts';
import { BENCH_ENGINE } from './stream.ts';
import { renderTable } from './table.ts';
import type { TickResult } from './tick-tier.ts';

const HELP = `npm run bench [-- options]

  --quick                 small sizes: the whole run takes under a minute
  --tiers LIST            engine,handler,reload,tick,e2e,flink,nexmark (default: all seven);
                          flink runs the reference Flink job after each full-speed end-to-end
                          run, on the same stream (it needs e2e); nexmark runs Nexmark's query
                          11 (user sessions) on the Nexmark generator's bids, end to end
  --users N               users in every generated stream (default 10000)
  --engine-events N       engine tier events (default 1000000; quick 300000)
  --handler-events LIST   batchSize:events per handler run (default 100:20000,1000:50000,10000:100000;
                          quick 100:1000,1000:3000,10000:10000)
  --events N              end-to-end events, produced while read and drained (default 1000000; quick 50000)
  --reload-users N        live users of the partition a cold container reloads (default 100000; quick 20000)
  --tick-users N          users whose sessions one idle tick fires at once (default 1000000; quick 20000)
  --drain-rounds N        drains of the same topic, the job's and Flink's in each round, the
                          job first in the first, third, ... round, Flink first in the others;
                          the median round is reported (default 3; quick 1)
  --batch-size N          end-to-end batch size (default 10000)
  --window-ms N           full-speed end-to-end batching window (default 500, the AWS default)
  --partitions N          end-to-end topic partitions (default 3)
  --paced-rates LIST      latency runs: events/s each (default 1000,2000; quick 1000), with
                          rate x 5 users each, so a user's mean gap stays the 5 s session gap
  --paced-windows LIST    latency runs: batching windows in ms, each with every rate (default
                          100,500; quick 100); the window is the latency knob
  --paced-seconds N       latency runs: seconds each (default 30; quick 10; 0 = skip)
  --nexmark-events N      Nexmark events whose bids the nexmark tier drains (default 1000000;
                          quick 200000; 92 % of them are bids)
  --nexmark-rate N        their rate, events per second of event time (default 10000, the
                          Nexmark generator's own)
  --seed N                stream seed (default 1)
  --json FILE             results as JSON (default .services/bench/last.json)
`;

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    tiers: { type: 'string', default: 'engine,handler,reload,tick,e2e,flink,nexmark' },
    users: { type: 'string' },
    'engine-events': { type: 'string' },
    'handler-events': { type: 'string' },
    events: { type: 'string' },
    'reload-users': { type: 'string' },
    'tick-users': { type: 'string' },
    'drain-rounds': { type: 'string' },
    'nexmark-events': { type: 'string' },
    'nexmark-rate': { type: 'string' },
    'batch-size': { type: 'string', default: '10000' },
    'window-ms': { type: 'string', default: '500' },
    partitions: { type: 'string', default: '3' },
    'paced-rates': { type: 'string' },
    'paced-windows': { type: 'string' },
    'paced-seconds': { type: 'string' },
    seed: { type: 'string', default: '1' },
    json: { type: 'string', default: '.services/bench/last.json' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  process.stdout.write(HELP);
  process.exit(0);
}

function whole(name: string, raw: string | undefined, fallback: number, min = 1): number {
  if (raw === undefined) return fallback;
  const n = Number(raw.replaceAll('_', ''));
  if (!Number.isSafeInteger(n) || n < min) {
    process.stderr.write(`bench: --${name} must be a whole number >= ${min}, got "${raw}"\n`);
    process.exit(2);
  }
  return n;
}

const quick = args.quick;
const tiers = new Set(args.tiers.split(',').map((t) => t.trim()));
for (const t of tiers) {
  if (!['engine', 'handler', 'reload', 'tick', 'e2e', 'flink', 'nexmark'].includes(t)) {
    process.stderr.write(
      `bench: --tiers takes engine, handler, reload, tick, e2e, flink, nexmark; got "${t}"\n`,
    );
    process.exit(2);
  }
}
if (tiers.has('flink') && !tiers.has('e2e')) {
  process.stderr.write('bench: the flink tier runs on the end-to-end streams: add e2e to --tiers\n');
  process.exit(2);
}
const users = whole('users', args.users, 10_000);
const seed = whole('seed', args.seed, 1, 0);
const handlerEvents: Record<string, number> = {};
for (const pair of (
  args['handler-events'] ?? (quick ? '100:1000,1000:3000,10000:10000' : '100:20000,1000:50000,10000:100000')
).split(',')) {
  const [size, events] = pair.split(':');
  const batch = whole('handler-events', size, 0);
  if (batch > 10_000) {
    process.stderr.write('bench: --handler-events batch sizes go up to 10000 (the Lambda maximum)\n');
    process.exit(2);
  }
  handlerEvents[String(batch)] = whole('handler-events', events, 0);
}
const sizes = {
  engineEvents: whole('engine-events', args['engine-events'], quick ? 300_000 : 1_000_000),
  e2eEvents: whole('events', args.events, quick ? 50_000 : 1_000_000),
  reloadUsers: whole('reload-users', args['reload-users'], quick ? 20_000 : 100_000),
  tickUsers: whole('tick-users', args['tick-users'], quick ? 20_000 : 1_000_000),
  batchSize: whole('batch-size', args['batch-size'], 10_000),
  windowMs: whole('window-ms', args['window-ms'], 500, 0),
  partitions: whole('partitions', args.partitions, 3),
  pacedRates: (args['paced-rates'] ?? (quick ? '1000' : '1000,2000'))
    .split(',')
    .map((r) => whole('paced-rates', r, 1)),
  pacedWindows: (args['paced-windows'] ?? (quick ? '100' : '100,500'))
    .split(',')
    .map((w) => whole('paced-windows', w, 0)),
  pacedSeconds: whole('paced-seconds', args['paced-seconds'], quick ? 10 : 30, 0),
  drainRounds: whole('drain-rounds', args['drain-rounds'], quick ? 1 : 3),
  nexmarkEvents: whole('nexmark-events', args['nexmark-events'], quick ? 200_000 : 1_000_000),
  nexmarkRate: whole('nexmark-rate', args['nexmark-rate'], NEXMARK_DEFAULT_RATE),
};

const ui = new ProgressLine();
const started = Date.now();
await servicesUp(undefined, (line) => ui.say(`services: ${line}`));
ui.say(await machine());

/** The machine and the versions of what the numbers depend on. */
async function machine(): Promise<string> {
  // No jars when the services run elsewhere (Docker, another checkout): the version is unknown.
  const jar = (dir: string, pattern: RegExp) => {
    if (!existsSync(dir)) return '?';
    return (
      readdirSync(dir)
        .map((f) => pattern.exec(f)?.[1])
        .find((v) => v !== undefined) ?? '?'
    );
  };
  const client = new pg.Client({ connectionString: serviceSettings().databaseUrl });
  await client.connect();
  const { rows: version } = await client.query<{ server_version: string }>('SHOW server_version');
  await client.end();
  return (
    `${cpus().length} x ${cpus()[0]?.model ?? 'CPU'}, ${fmt(totalmem() / 2 ** 30)} GiB, ${platform()} ${release()}, ` +
    `Node ${process.version}; Kafka ${jar(paths.kafkaLibs, /^kafka_[\d.]+-([\d.]+)\.jar$/)} (one KRaft broker), ` +
    `DynamoDB Local ${jar(paths.dynamodbLibs, /^DynamoDBLocal-([\d.]+)\.jar$/)} (data on disk), ` +
    `PostgreSQL ${version[0]?.server_version.split(' ')[0]}, all on this machine`
  );
}

const rows: TierRow[] = [];

/** The reference Flink job's row, right under the job's run on the same stream. */
function flinkRow(run: string, f: FlinkResult): TierRow {
  return {
    tier: 'flink',
    detail: `${run}, local mode, parallelism 1, ${sizes.partitions} partitions`,
    events: f.events,
    seconds: f.seconds,
    eventsPerSecond: f.events / f.seconds,
    costPer1k: null,
    peakRssMb: f.peakRssMb,
  };
}
const results: Record<string, unknown> = { sizes, users, seed, quick };

if (tiers.has('engine')) {
  const engine = await startChild<TierRow[]>(
    'engine-tier.ts',
    { events: sizes.engineEvents, users, batchSize: sizes.batchSize, runs: 3, seed },
    (p) => ui.update(p),
  ).result;
  rows.push(...engine);
  results.engine = engine;
}

let handler: HandlerRun[] = [];
if (tiers.has('handler')) {
  handler = await startChild<HandlerRun[]>(
    'handler-tier.ts',
    { batchSizes: Object.keys(handlerEvents).map(Number), events: handlerEvents, users, seed },
    (p) => ui.update(p),
  ).result;
  rows.push(...handler.map((r) => r.row));
  results.handler = handler;
}

let reload: ReloadResult | undefined;
if (tiers.has('reload')) {
  reload = await startChild<ReloadResult>('reload-tier.ts', { users: sizes.reloadUsers }, (p) => ui.update(p))
    .result;
  results.reload = reload;
}

let tick: TickResult | undefined;
if (tiers.has('tick')) {
  tick = await startChild<TickResult>('tick-tier.ts', { users: sizes.tickUsers }, (p) => ui.update(p)).result;
  rows.push({
    tier: 'tick',
    detail: `one idle tick fires ${fmt(tick.sessions)} sessions, one transaction`,
    events: tick.sessions,
    seconds: tick.tickMs / 1000,
    eventsPerSecond: tick.sessions / (tick.tickMs / 1000),
    costPer1k: null,
    peakRssMb: tick.peakRssMb,
  });
  results.tick = tick;
}

let full: E2eResult | undefined;
let drain: E2eResult | undefined;
const paced: E2eResult[] = [];
if (tiers.has('e2e')) {
  const common = {
    users,
    partitions: sizes.partitions,
    seed,
    batchSize: sizes.batchSize,
    windowMs: sizes.windowMs,
    seconds: sizes.pacedSeconds,
  };
  const flink = tiers.has('flink');
  full = await runE2e(
    { ...common, name: 'full', mode: 'full', events: sizes.e2eEvents, rate: 0, consumeFloor: false, flink },
    ui,
  );
  rows.push({
    tier: 'end-to-end',
    detail: `produced while read, batch ${fmt(sizes.batchSize)}, ${sizes.partitions} partitions`,
    events: full.events,
    seconds: full.seconds,
    eventsPerSecond: full.events / full.seconds,
    costPer1k: full.pipeline.costPer1k,
    peakRssMb: full.pipeline.peakRssMb,
  });
  if (full.flink) rows.push(flinkRow('produced while read', full.flink));
  drain = await runE2e(
    {
      ...common,
      name: 'drain',
      mode: 'drain',
      events: sizes.e2eEvents,
      rate: 0,
      consumeFloor: true,
      flink,
      rounds: sizes.drainRounds,
    },
    ui,
  );
  const rounds = sizes.drainRounds > 1 ? `, median of ${sizes.drainRounds} rounds` : '';
  rows.push({
    tier: 'end-to-end',
    detail: `drain (all in Kafka first), batch ${fmt(sizes.batchSize)}, ${sizes.partitions} partitions${rounds}`,
    events: drain.events,
    seconds: drain.seconds,
    eventsPerSecond: drain.events / drain.seconds,
    costPer1k: drain.pipeline.costPer1k,
    peakRssMb: drain.pipeline.peakRssMb,
  });
  if (drain.flink) rows.push(flinkRow(`drain (all in Kafka first)${rounds}`, drain.flink));
  const combos = sizes.pacedWindows.flatMap((windowMs) =>
    sizes.pacedRates.map((rate) => ({ windowMs, rate })),
  );
  for (const { windowMs, rate } of sizes.pacedSeconds > 0 ? combos : []) {
    // As many users as make a user's mean gap the session gap: sessions keep closing.
    const pacedUsers = Math.max(1, Math.round((rate * BENCH_ENGINE.gapMs) / 1000));
    const run = await runE2e(
      {
        ...common,
        users: pacedUsers,
        windowMs,
        name: `paced${rate}w${windowMs}`,
        mode: 'paced',
        events: 0,
        rate,
        consumeFloor: false,
        flink: false,
      },
      ui,
    );
    paced.push(run);
    rows.push({
      tier: 'end-to-end',
      detail: `paced ${fmt(rate)}/s, ${fmt(pacedUsers)} users, window ${windowMs} ms, ${sizes.pacedSeconds} s`,
      events: run.events,
      seconds: run.seconds,
      eventsPerSecond: run.events / run.seconds,
      costPer1k: run.pipeline.costPer1k,
      peakRssMb: run.pipeline.peakRssMb,
    });
  }
  results.e2e = { full, drain, paced };
}
let nexmark: NexmarkResult | undefined;
if (tiers.has('nexmark')) {
  nexmark = await runNexmark(
    {
      events: sizes.nexmarkEvents,
      rate: sizes.nexmarkRate,
      partitions: sizes.partitions,
      batchSize: sizes.batchSize,
      windowMs: sizes.windowMs,
      seed,
    },
    ui,
  );
  rows.push({
    tier: 'nexmark',
    detail: `query 11, bids of ${fmt(sizes.nexmarkEvents)} events, drain, batch ${fmt(sizes.batchSize)}, ${sizes.partitions} partitions`,
    events: nexmark.bids,
    seconds: nexmark.seconds,
    eventsPerSecond: nexmark.bids / nexmark.seconds,
    costPer1k: nexmark.pipeline.costPer1k,
    peakRssMb: nexmark.pipeline.peakRssMb,
  });
  results.nexmark = nexmark;
}
ui.clear();

const output = renderTable(rows, {
  handler,
  full,
  drain,
  paced,
  reload,
  tick,
  nexmark,
  cores: cpus().length,
  engineTarget: 2_000_000,
});
const header = [
  `command: npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
  `date: ${new Date(started).toISOString()}, total ${fmt((Date.now() - started) / 1000, 1)} s`,
  `machine: ${await machine()}`,
  '',
].join('\n');
results.table = `${header}\n${output}`;
process.stdout.write(`${header}\n${output}\n`);
await mkdir(dirname(args.json), { recursive: true });
await writeFile(args.json, JSON.stringify(results, null, 2));
process.stderr.write(`results: ${args.json}\n`);
