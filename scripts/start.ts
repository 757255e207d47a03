/**
 * The main job in one command: starts the local services when needed (Kafka, DynamoDB Local,
 * PostgreSQL; topic, checkpoint table and schema), then `serverless offline start` with the
 * repo's Kafka trigger, and says where to send events and how to see the rows. Ctrl-C stops it
 * cleanly (the services keep running; `npm run services:down` stops them).
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { servicesUp } from './services/index.ts';
import { serviceSettings } from './services/settings.ts';

async function main(): Promise<void> {
  const settings = serviceSettings();
  await servicesUp(settings);
  const brokers = settings.kafkaBrokers.join(',');
  const db = new URL(settings.databaseUrl);
  const psql = `psql -h ${db.hostname} -p ${db.port || 5432} -U ${decodeURIComponent(db.username) || 'postgres'} -d ${db.pathname.slice(1)}`;
  console.log(`
Send events to topic "${settings.topic}" on ${brokers}:
  npm run demo                                   the seed scenario, then prints its rows
  npm run produce -- user_A,1000 user_A,2000     events as arguments (or stdin, or --file)
  scripts/kafka-cli console-producer --bootstrap-server ${brokers} --topic ${settings.topic}
                                                 Kafka's own console producer (type user_A,1000)
See the rows:
  ${psql} -c 'SELECT * FROM aggregated_counts ORDER BY group_key'
  ${psql} -c 'SELECT * FROM rejected_events'
Ctrl-C stops the job (the services keep running: npm run services:down).
`);
  const require = createRequire(import.meta.url);
  const serverless = require.resolve('osls/bin/serverless.js');
  const child = spawn(process.execPath, [serverless, 'offline', 'start', ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: process.env,
  });
  // The terminal sends Ctrl-C to the whole process group; forward a plain kill too.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => child.kill(signal));
  }
  child.on('exit', (code, signal) => {
    process.exitCode = code ?? (signal === null ? 0 : 1);
  });
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
