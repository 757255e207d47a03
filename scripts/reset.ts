/**
 * npm run reset [-- --force]: a clean slate for the local job (scripts/job/reset.ts), for the
 * topic, group, checkpoint table and database that `npm start` uses.
 */
import './local-env.ts';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { isMain, runMain } from './cli.ts';
import { ResetRefused, resetJob } from './job/reset.ts';
import { jobTarget } from './job/target.ts';
import { dynamoClient } from './services/dynamodb.ts';
import { kafkaClient } from './services/kafka.ts';

export const HELP = `npm run reset [-- --force]

A clean slate for the local job, with the services up (seconds, not a services:down/up):
  - the topic deleted and created again with the same partition count, which also removes every
    consumer group's committed offsets on it;
  - the checkpoint table deleted and created again, empty;
  - the project's PostgreSQL tables truncated (aggregated_counts, rejected_events, sink_fences,
    user_sessions: whichever exist).
The next npm start reads the topic from the beginning with a fresh checkpoint.

It uses the names npm start uses: KAFKA_TOPIC (user_activity), KAFKA_CONSUMER_GROUP
(sessionizer-dev), CHECKPOINT_TABLE (sessionizer-checkpoints), DATABASE_URL (.../flink_db),
KAFKA_BROKERS, DYNAMODB_ENDPOINT. It refuses unless every one of these services is on this
machine: it never touches AWS.

  --force   reset although the job is running (its consumer group has members reading the
            topic); restart the job afterwards
  --help    this text
`;

export function parseResetArgs(argv: readonly string[]): { force: boolean; help: boolean } {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      force: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  return { force: values.force, help: values.help };
}

async function main(): Promise<number> {
  const args = parseResetArgs(process.argv.slice(2));
  if (args.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const started = Date.now();
  const target = jobTarget();
  const admin = kafkaClient(target, 'sessionizer-reset').admin();
  const dynamo = dynamoClient(target);
  const db = new pg.Client({ connectionString: target.databaseUrl });
  try {
    await Promise.all([admin.connect(), db.connect()]);
    await resetJob(target, { admin, dynamo, db }, { force: args.force });
  } catch (error) {
    if (!(error instanceof ResetRefused)) throw error;
    console.error(`npm run reset: nothing was changed: ${error.message}`);
    return 1;
  } finally {
    await Promise.allSettled([admin.disconnect(), db.end()]);
    dynamo.destroy();
  }
  console.log(
    `reset done in ${((Date.now() - started) / 1000).toFixed(1)}s: npm start reads ${target.topic} from the ` +
      'beginning with an empty checkpoint.',
  );
  return 0;
}

if (isMain(import.meta.url)) runMain('npm run reset', main);
