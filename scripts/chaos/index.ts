/**
 * `npm run chaos -- <experiment | all> [options]`: the chaos experiments of issue 10 at full size,
 * each reporting lost / over-counted / under-counted / extra rows and wrong rejections, which must
 * all be 0 (for dynamodb-lost: the loss reported and nothing wrong written). The e2e suite
 * (test/e2e/chaos.test.ts) runs the same experiments at small sizes.
 */
import '../local-env.ts';
import { parseArgs } from 'node:util';
import { servicesUp } from '../services/index.ts';
import { EXPERIMENTS, type ExperimentName, type ExperimentOptions, runExperiment } from './experiments.ts';

/** How long each fault lasts by default, as issue 10 describes them. */
const FAULT_MS: Record<ExperimentName, number> = {
  kill: 0,
  'kafka-restart': 40_000,
  'dynamodb-restart': 30_000,
  'dynamodb-lost': 0,
  'postgres-refuse': 60_000,
  'postgres-partition': 60_000,
  starve: 30_000,
};

const HELP = `usage: npm run chaos -- <experiment | all> [options]

experiments: ${EXPERIMENTS.join(', ')}

options:
  --events <n>       events to produce (default 100000)
  --rate <n>         events per second the producer aims at (default 2000)
  --users <n>        distinct users (default 2000)
  --partitions <n>   partitions of the experiment's topic (default 3)
  --fault-ms <n>     how long the fault lasts (default per experiment: kafka-restart 40000,
                     dynamodb-restart 30000, postgres-* 60000, starve 30000 per batch)
  --kills <n>        kill: how many SIGKILLs (default 10)
  --seed <n>         users, stragglers and bad records (default: from the clock, printed)
  -h, --help         this text

Each experiment runs the job with serverless offline start against a topic, table and schema of
its own (and its own Kafka broker or DynamoDB Local where it restarts them), then reads the topic
back from Kafka, folds it with the test reference and compares every row and rejection.`;

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      events: { type: 'string', default: '100000' },
      rate: { type: 'string', default: '2000' },
      users: { type: 'string', default: '2000' },
      partitions: { type: 'string', default: '3' },
      'fault-ms': { type: 'string' },
      kills: { type: 'string', default: '10' },
      seed: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const which = positionals[0];
  if (values.help || which === undefined) {
    console.log(HELP);
    return which === undefined && !values.help ? 2 : 0;
  }
  const names = which === 'all' ? EXPERIMENTS : [which as ExperimentName];
  if (!names.every((n) => EXPERIMENTS.includes(n))) {
    console.error(`unknown experiment "${which}"\n\n${HELP}`);
    return 2;
  }
  const int = (name: string, raw: string | undefined): number => {
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`--${name} must be a whole number, got "${raw}"`);
    return n;
  };
  const seed = values.seed === undefined ? Date.now() % 1_000_000 : int('seed', values.seed);
  await servicesUp(undefined, () => undefined);
  const results = [];
  for (const name of names) {
    const options: ExperimentOptions = {
      events: int('events', values.events),
      rate: int('rate', values.rate),
      users: int('users', values.users),
      partitions: int('partitions', values.partitions),
      faultMs: values['fault-ms'] === undefined ? FAULT_MS[name] : int('fault-ms', values['fault-ms']),
      kills: int('kills', values.kills),
      seed,
      log: (line) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`),
    };
    console.log(
      `== ${name} (seed ${seed}, ${options.events} events at ${options.rate}/s, fault ${options.faultMs} ms)`,
    );
    results.push(await runExperiment(name, options));
  }
  console.log(
    '\nexperiment          seconds  records  ticks  sessions  lost  over  under  extra  sessions-wrong  wrongly-late  missed-late  result',
  );
  for (const r of results) {
    const v = r.verdict;
    console.log(
      [
        r.name.padEnd(18),
        String(Math.round(r.seconds)).padStart(7),
        String(v.records).padStart(8),
        String(v.ticks).padStart(6),
        String(v.sessions).padStart(9),
        String(v.lost).padStart(5),
        String(v.overCounted).padStart(5),
        String(v.underCounted).padStart(6),
        String(v.extra).padStart(6),
        String(v.sessionRowsWrong).padStart(15),
        String(v.wronglyLate).padStart(13),
        String(v.missedLate).padStart(12),
        `  ${r.ok ? 'ok' : 'FAILED'}${r.notes.length > 0 ? ` (${r.notes.join('; ')})` : ''}`,
      ].join(' '),
    );
  }
  return results.every((r) => r.ok) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);
