/**
 * `npm run chaos -- <experiment | all> [--settings defaults|lateness|kafka-time|all] [options]`: the
 * chaos experiments of issues 10 and 17 at full size, each under the settings asked for, each
 * reporting lost / over-counted / under-counted / extra rows and wrong rejections, which must all
 * be 0 (for dynamodb-lost: the loss reported and nothing wrong written), and the idle ticks that
 * landed mid-stream, which must be at least one. The e2e suite (test/e2e/chaos.test.ts) runs the
 * same experiments at small sizes.
 */
import '../local-env.ts';
import { parseArgs } from 'node:util';
import { servicesUp } from '../services/index.ts';
import { EXPERIMENTS, type ExperimentName, type ExperimentResult, runExperiment } from './experiments.ts';
import { SETTINGS, type SettingsName } from './settings.ts';

/** How long each fault lasts by default, as issues 10 and 17 describe them (0: no fault of that kind). */
const FAULT_MS: Record<ExperimentName, number> = {
  kill: 0,
  'kafka-restart': 40_000,
  'dynamodb-restart': 30_000,
  'dynamodb-lost': 0,
  'postgres-refuse': 60_000,
  'postgres-partition': 60_000,
  starve: 30_000,
  'clock-behind': 0,
  'clock-ahead': 0,
  history: 0,
  bursts: 0,
  'future-tick': 0,
  'outage-backlog': 40_000,
  'poison-timestamp': 0,
};

const HELP = `usage: npm run chaos -- <experiment | all> [--settings <name | all>] [options]

experiments (each runs the job with serverless offline start, default settings unless --settings):
  kill                kill -9 of the whole job at random points, started again each time
  kafka-restart       the experiment's own Kafka broker killed for --fault-ms, started on its data
  dynamodb-restart    its own DynamoDB Local killed for --fault-ms, started on its data
  dynamodb-lost       its DynamoDB Local started again empty: the job must report it and stop
  postgres-refuse     PostgreSQL refusing connections for --fault-ms (a TCP proxy)
  postgres-partition  PostgreSQL unreachable for --fault-ms: connections open, nothing answers
  starve              partition 0's batches held --fault-ms each while the others are busy
  clock-behind        the producer's clock (Kafka timestamps and event times) 15 s behind the sweep's
  clock-ahead         the same, 15 s ahead
  history             a replay: CreateTime = event time, both 3 days old
  bursts              events shipped in --bursts bursts, 20 s of silence between them
  future-tick         forged idle ticks stamped 2100 and 1970 appended mid-stream to every partition
  outage-backlog      its own broker killed for --fault-ms while the producer holds its records;
                      the backlog is sent only after the sweep ticked every partition
  poison-timestamp    records with Kafka timestamps -1, 0, 8640000000000001, 9000000000000000 and
                      9223372036854775807, good and unparseable values, mid-stream

settings (--settings, default "defaults"; "all" runs each experiment under each):
  defaults            G 5 s, B 0, L 0, event time from the payload; 0.5 % stragglers 8 s behind
  lateness            OUT_OF_ORDERNESS_MS=2000 ALLOWED_LATENESS_MS=3000; plus 3 % stragglers 1-4 s
                      behind that join sessions which already wrote their row
  kafka-time          EVENT_TIME_SOURCE=kafka: the Kafka timestamp is the event time (the producer
                      stamps each record with it)
  The idle flush is always on with its defaults (IDLE_TIMEOUT_MS 5 s, offline sweep every 2 s).

options:
  --events <n>       events to produce (default 100000)
  --rate <n>         events per second the producer aims at (default 2000)
  --users <n>        distinct users (default 2000)
  --partitions <n>   partitions of the experiment's topic (default 3)
  --fault-ms <n>     how long the fault lasts (default per experiment: kafka-restart and
                     outage-backlog 40000, dynamodb-restart 30000, postgres-* 60000, starve 30000
                     per batch)
  --kills <n>        kill: how many SIGKILLs (default 10)
  --bursts <n>       bursts: how many bursts (default 4)
  --seed <n>         users, stragglers and bad records (default: from the clock, printed)
  -h, --help         this text

Each experiment uses a topic, checkpoint table and schema of its own (and its own Kafka broker or
DynamoDB Local where it restarts them). The producer falls silent half-way (bursts: between bursts)
until every partition got an idle tick (or has nothing for one to write). After the fault, the
experiment waits until every record (ticks included) is committed and no session is without a row,
then judges the run without the job's code: it reads the topic back with kafkajs, recognises control
records (a null value and the sessionizer-control header) itself, classifies each other record from
what the producer wrote (good values parsed, bad ones looked up in a table of their reasons), folds
each partition's events with the test reference (Flink's rules on the records alone, ticks ignored,
then a final flush) and compares every row of aggregated_counts and user_sessions and every
rejection. Printed per run: lost, over- and under-counted, extra and wrong user_sessions rows,
wrongly late and missed late records, other wrong rejections, session keys found in two partitions
(a producer that did not key by user; all must be 0), and the idle ticks followed by later records
in their partition (must be at least 1).`;

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      settings: { type: 'string', default: 'defaults' },
      events: { type: 'string', default: '100000' },
      rate: { type: 'string', default: '2000' },
      users: { type: 'string', default: '2000' },
      partitions: { type: 'string', default: '3' },
      'fault-ms': { type: 'string' },
      kills: { type: 'string', default: '10' },
      bursts: { type: 'string', default: '4' },
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
  const settingsList = values.settings === 'all' ? SETTINGS : [values.settings as SettingsName];
  if (!settingsList.every((s) => SETTINGS.includes(s))) {
    console.error(`unknown settings "${values.settings}"\n\n${HELP}`);
    return 2;
  }
  const int = (name: string, raw: string | undefined): number => {
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`--${name} must be a whole number, got "${raw}"`);
    return n;
  };
  const seed = values.seed === undefined ? Date.now() % 1_000_000 : int('seed', values.seed);
  await servicesUp(undefined, () => undefined);
  const results: (ExperimentResult | { name: ExperimentName; settings: SettingsName; error: string })[] = [];
  for (const name of names) {
    for (const settings of settingsList) {
      const faultMs = values['fault-ms'] === undefined ? FAULT_MS[name] : int('fault-ms', values['fault-ms']);
      const events = int('events', values.events);
      const rate = int('rate', values.rate);
      console.log(
        `== ${name} [${settings}] (seed ${seed}, ${events} events at ${rate}/s, fault ${faultMs} ms)`,
      );
      try {
        results.push(
          await runExperiment(name, {
            events,
            rate,
            users: int('users', values.users),
            partitions: int('partitions', values.partitions),
            faultMs,
            kills: int('kills', values.kills),
            bursts: int('bursts', values.bursts),
            settings,
            seed,
            log: (line) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`),
          }),
        );
      } catch (error) {
        console.error(error instanceof Error ? (error.stack ?? error.message) : error);
        results.push({ name, settings, error: error instanceof Error ? error.message : String(error) });
      }
    }
  }
  console.log(
    '\nexperiment          settings    seconds  records  ticks  mid-stream  sessions  lost  over  under  extra  sessions-wrong  wrongly-late  missed-late  rejects-wrong  split-keys  result',
  );
  for (const r of results) {
    const head = [r.name.padEnd(18), r.settings.padEnd(10)];
    if ('error' in r) {
      console.log([...head, `  ERROR ${r.error}`].join(' '));
      continue;
    }
    const v = r.verdict;
    const why = [...r.notes, ...r.problems];
    console.log(
      [
        ...head,
        String(Math.round(r.seconds)).padStart(8),
        String(v.records).padStart(8),
        String(v.ticks).padStart(6),
        String(v.ticksMidStream).padStart(11),
        String(v.sessions).padStart(9),
        String(v.lost).padStart(5),
        String(v.overCounted).padStart(5),
        String(v.underCounted).padStart(6),
        String(v.extra).padStart(6),
        String(v.sessionRowsWrong).padStart(15),
        String(v.wronglyLate).padStart(13),
        String(v.missedLate).padStart(12),
        String(v.rejectsWrong).padStart(14),
        String(v.keysInTwoPartitions).padStart(11),
        `  ${r.ok ? 'ok' : 'FAILED'}${why.length > 0 ? ` (${why.join('; ')})` : ''}`,
      ].join(' '),
    );
  }
  return results.every((r) => 'ok' in r && r.ok) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);
