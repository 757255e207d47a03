/**
 * Plays the seed scenario of the reference lab against the running job (`npm start` in another
 * terminal) and prints the aggregated_counts rows once both user_A sessions are there, then the
 * same sessions from user_sessions with their durations: the first fires when user_A,8000 moves
 * the watermark; the second is written early (provisional) by the idle flush, IDLE_TIMEOUT_MS
 * (default 5 s) after the last event. It needs a clean slate (npm run reset).
 */
import './local-env.ts';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { isMain, runMain } from './cli.ts';
import { RESET_HINT, usedPartitions } from './job/fresh.ts';
import { topicOffsets } from './job/kafka.ts';
import { dynamoClient } from './services/dynamodb.ts';
import { kafkaClient } from './services/kafka.ts';
import { type ServiceSettings, serviceSettings } from './services/settings.ts';

export const HELP = `npm run demo

Plays the reference lab's seed scenario against the running job (npm start in another
terminal): user_A,1000, user_A,2000, user_A,8000, keyed by user id, then prints the two user_A
rows of aggregated_counts once both sessions have a row (the second written early by the idle
flush, as a provisional row), and the same sessions from user_sessions with their durations and
whether each is final or provisional.

It needs a clean slate: the job must not have read any event on its topic yet, or these 1970
events would be late. Afterwards the slate is used: to type the lab yourself, stop the job,
npm run reset, npm start. It uses the names npm start uses (KAFKA_TOPIC, CHECKPOINT_TABLE,
DATABASE_URL, KAFKA_BROKERS, DYNAMODB_ENDPOINT).

  --help  this text
`;

const SCENARIO: readonly [string, number][] = [
  ['user_A,1000', 1000],
  ['user_A,2000', 1000],
  ['user_A,8000', 0],
];
const TIMEOUT_MS = 120_000;

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { help: { type: 'boolean', short: 'h', default: false } } });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const settings = serviceSettings();
  const db = new pg.Client({ connectionString: settings.databaseUrl });
  await db.connect();
  const producer = kafkaClient(settings, 'sessionizer-demo').producer();
  await producer.connect();
  const query = `SELECT group_key, count_value, window_end_time FROM aggregated_counts
    WHERE group_key IN ('user_A|1970-01-01T00:00:01.000Z', 'user_A|1970-01-01T00:00:08.000Z')
    ORDER BY group_key`;
  // Written in the same transaction as aggregated_counts: there once the rows above are.
  const sessionsQuery = `SELECT group_key, event_count, session_start, last_event_time, duration_ms, status
    FROM session_status
    WHERE group_key IN ('user_A|1970-01-01T00:00:01.000Z', 'user_A|1970-01-01T00:00:08.000Z')
    ORDER BY group_key`;
  try {
    const stale = await notAFreshSlate(settings, db, query);
    if (stale !== undefined) {
      console.error(
        `npm run demo: nothing sent: ${stale}\nFor a clean slate: ${RESET_HINT} Then npm run demo again.`,
      );
      return 1;
    }
    for (const [event, pauseMs] of SCENARIO) {
      await producer.send({ topic: settings.topic, messages: [{ key: 'user_A', value: event }] });
      console.log(`sent ${event}`);
      if (pauseMs > 0) await delay(pauseMs);
    }
    console.log('waiting for both user_A sessions (the second is written early by the idle flush)...');
    const deadline = Date.now() + TIMEOUT_MS;
    for (;;) {
      const { rows } = await db.query(query);
      if (rows.length === 2) {
        console.table(
          rows.map((r) => ({
            ...r,
            window_end_time: (r.window_end_time as Date).toISOString?.() ?? r.window_end_time,
          })),
        );
        const sessions = await db.query(sessionsQuery);
        console.table(
          sessions.rows.map((r) => ({
            group_key: r.group_key,
            event_count: r.event_count,
            session_start: (r.session_start as Date).toISOString(),
            last_event_time: (r.last_event_time as Date).toISOString(),
            duration_ms: r.duration_ms,
            status: r.status,
          })),
        );
        console.log(
          'user_A,8000 has moved the watermark to 7999: these events typed again now would be late.\n' +
            `To type the lab yourself (docs/LAB.md), start from a clean slate: ${RESET_HINT}`,
        );
        return 0;
      }
      if (Date.now() > deadline) {
        throw new Error('timed out: is `npm start` running (and reading the same topic and database)?');
      }
      await delay(500);
    }
  } finally {
    await producer.disconnect();
    await db.end();
  }
}

/** Why the demo's 1970 events would not give the demo's rows; undefined on a clean slate. */
async function notAFreshSlate(
  settings: ServiceSettings,
  db: pg.Client,
  rowsQuery: string,
): Promise<string | undefined> {
  if ((await db.query(rowsQuery)).rows.length > 0) {
    return 'aggregated_counts already holds the user_A rows of an earlier run (or of the sample batch).';
  }
  const admin = kafkaClient(settings, 'sessionizer-demo').admin();
  const dynamo = dynamoClient(settings);
  try {
    await admin.connect();
    const partitions = (await topicOffsets(admin, settings.topic))?.map((p) => p.partition) ?? [];
    const used = await usedPartitions(dynamo, settings.checkpointTable, settings.topic, partitions);
    if (used.length === 0) return undefined;
    return `the job has already read events from ${settings.topic} (${used.join('; ')}), so the demo's 1970 events would be late.`;
  } finally {
    await admin.disconnect();
    dynamo.destroy();
  }
}

if (isMain(import.meta.url)) runMain('npm run demo', main);
