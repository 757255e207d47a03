/**
 * npm run status [-- --once | --json]: the local job's progress per partition (scripts/job/
 * status.ts), redrawn every few seconds until Ctrl-C.
 */
import './local-env.ts';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { isMain, runMain, wholeNumber } from './cli.ts';
import { collectStatus, formatStatus } from './job/status.ts';
import { jobTarget } from './job/target.ts';
import { dynamoClient } from './services/dynamodb.ts';
import { kafkaClient } from './services/kafka.ts';

export const HELP = `npm run status [-- options]

The local job's progress, per partition of its topic:
  committed   the job's consumer group's committed offset (next record it gets)
  log end     the partition's log-end offset; lag = log end - committed
  watermark   the partition's records watermark, as a UTC time ("-": no record yet)
  live        sessions in the checkpoint: not final yet (later records may still change them)
  unwritten   of those, sessions without a row yet (the next firing, on time or early, writes them)
  memory      what the partition's state takes in a container's memory (docs/DEPLOY.md, "Sizing")
  rows        sessions written to PostgreSQL (user_sessions rows of the partition)
  provisional of those rows, the ones not final yet (the session_status view)
  rejects     rejected_events of the partition, by reason
  last batch  wall-clock time of the last batch the checkpoint committed
"-" is a value not known (yet). It reads the names npm start uses: KAFKA_TOPIC,
KAFKA_CONSUMER_GROUP, CHECKPOINT_TABLE, DATABASE_URL, KAFKA_BROKERS, DYNAMODB_ENDPOINT.
--json adds appliedOffset (the checkpoint's next offset: every record below it is counted or
rejected) and notes (what could not be read, and so shows as null).

  --once          print it once and exit
  --json          print it once as JSON (epoch milliseconds) and exit, for scripts
  --interval SEC  seconds between refreshes (default 2)
  --help          this text
`;

export interface StatusArgs {
  readonly once: boolean;
  readonly json: boolean;
  readonly intervalMs: number;
  readonly help: boolean;
}

export function parseStatusArgs(argv: readonly string[]): StatusArgs {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      once: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      interval: { type: 'string', default: '2' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  return {
    once: values.once || values.json,
    json: values.json,
    intervalMs: wholeNumber('interval', values.interval, 1) * 1000,
    help: values.help,
  };
}

// Home, then clear the screen: each refresh replaces the last one.
const CLEAR = '\x1b[H\x1b[2J';

async function main(): Promise<number> {
  const args = parseStatusArgs(process.argv.slice(2));
  if (args.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const target = jobTarget();
  const admin = kafkaClient(target, 'sessionizer-status').admin();
  const dynamo = dynamoClient(target);
  const db = new pg.Client({ connectionString: target.databaseUrl });
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  try {
    await Promise.all([admin.connect(), db.connect()]);
    const clients = { admin, dynamo, db };
    if (args.once) {
      const status = await collectStatus(target, clients);
      console.log(args.json ? JSON.stringify(status, null, 2) : formatStatus(status));
      return 0;
    }
    const tty = process.stdout.isTTY;
    while (!stop.signal.aborted) {
      const view = await collectStatus(target, clients).then(
        formatStatus,
        (error: unknown) =>
          `status failed, retrying: ${error instanceof Error ? error.message : String(error)}`,
      );
      const footer = `${new Date().toTimeString().slice(0, 8)}, every ${args.intervalMs / 1000} s; Ctrl-C quits`;
      process.stdout.write(tty ? `${CLEAR}${view}\n\n${footer}\n` : `${view}\n\n`);
      await delay(args.intervalMs, undefined, { signal: stop.signal }).catch(() => undefined);
    }
    return 0;
  } finally {
    await Promise.allSettled([admin.disconnect(), db.end()]);
    dynamo.destroy();
  }
}

if (isMain(import.meta.url)) runMain('npm run status', main);
