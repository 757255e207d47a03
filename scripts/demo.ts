/**
 * Plays the seed scenario of the reference lab against the running job (`npm start` in another
 * terminal) and prints the aggregated_counts rows once both user_A sessions are there, then the
 * same sessions from user_sessions with their durations: the first closes when user_A,8000 moves
 * the watermark; the second when the idle sweep closes it, IDLE_TIMEOUT_MS (default 10 s) after
 * the last event.
 */
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { kafkaClient } from './services/kafka.ts';
import { serviceSettings } from './services/settings.ts';

const SCENARIO: readonly [string, number][] = [
  ['user_A,1000', 1000],
  ['user_A,2000', 1000],
  ['user_A,8000', 0],
];
const TIMEOUT_MS = 120_000;

async function main(): Promise<void> {
  const settings = serviceSettings();
  const db = new pg.Client({ connectionString: settings.databaseUrl });
  await db.connect();
  const producer = kafkaClient(settings, 'sessionizer-demo').producer();
  await producer.connect();
  const query = `SELECT group_key, count_value, window_end_time FROM aggregated_counts
    WHERE group_key IN ('user_A|1970-01-01T00:00:01.000Z', 'user_A|1970-01-01T00:00:08.000Z')
    ORDER BY group_key`;
  // Written in the same transaction as aggregated_counts: there once the rows above are.
  const sessionsQuery = `SELECT group_key, event_count, session_start, last_event_time, duration_ms
    FROM user_sessions
    WHERE group_key IN ('user_A|1970-01-01T00:00:01.000Z', 'user_A|1970-01-01T00:00:08.000Z')
    ORDER BY group_key`;
  try {
    if ((await db.query(query)).rows.length > 0) {
      console.warn(
        'note: user_A rows from an earlier run exist already, and the checkpoint has moved past 1970, so\n' +
          'these events will be late. For a fresh run use a new KAFKA_TOPIC and CHECKPOINT_TABLE (both\n' +
          'for `npm start` and for the demo), or `npm run services:down` first.',
      );
    }
    for (const [event, pauseMs] of SCENARIO) {
      await producer.send({ topic: settings.topic, messages: [{ key: 'user_A', value: event }] });
      console.log(`sent ${event}`);
      if (pauseMs > 0) await delay(pauseMs);
    }
    console.log('waiting for both user_A sessions (the second closes by the idle sweep)...');
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
          })),
        );
        break;
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

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
