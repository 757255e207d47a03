import { rmSync } from 'node:fs';
import { dynamoAnswers, startDynamo, stopDynamo } from './dynamodb.ts';
import { kafkaAnswers, startKafka, stopKafka } from './kafka.ts';
import { paths } from './paths.ts';
import { postgresAnswers, preparePostgres } from './postgres.ts';
import { runningPid } from './processes.ts';
import { type ServiceSettings, serviceSettings } from './settings.ts';

export { type ServiceSettings, serviceSettings };

/**
 * Starts whatever is not running yet (Kafka and DynamoDB Local on the JDK, jars from Maven
 * Central), waits until each one really answers, and prepares topic, checkpoint table and
 * schema. Running it when everything is up is a no-op apart from those idempotent checks.
 */
export async function servicesUp(
  settings: ServiceSettings = serviceSettings(),
  log = console.log,
): Promise<void> {
  const started = Date.now();
  const [kafka, dynamodb, postgres] = await Promise.all([
    startKafka(settings),
    startDynamo(settings),
    preparePostgres(settings),
  ]);
  log(`kafka      ${describe(kafka)}  ${settings.kafkaBrokers.join(',')}  topic ${settings.topic}`);
  log(`dynamodb   ${describe(dynamodb)}  ${settings.dynamodbEndpoint}  table ${settings.checkpointTable}`);
  log(`postgres   ${postgres === 'created' ? 'database created' : 'ready'}  schema applied`);
  log(`services up in ${((Date.now() - started) / 1000).toFixed(1)}s`);
}

function describe(state: 'started' | 'running' | 'external'): string {
  if (state === 'started') return 'started';
  if (state === 'running') return 'already running';
  return 'already running (not started by us)';
}

/** Stops only the processes we started (pid files). Their data stays for the next services:up. */
export async function servicesDown(log = console.log, keep = true): Promise<void> {
  const [kafka, dynamodb] = await Promise.all([stopKafka(), stopDynamo()]);
  rmSync(paths.run, { recursive: true, force: true });
  const kept = (dir: string) => (keep ? `  (data kept in ${dir})` : '');
  log(`kafka      ${kafka ? 'stopped' : 'was not started by us'}${kept(paths.kafkaData)}`);
  log(`dynamodb   ${dynamodb ? 'stopped' : 'was not started by us'}${kept(paths.dynamodbData)}`);
  log('postgres   left running (the machine owns it)');
}

/**
 * Stops what we started and deletes Kafka's and DynamoDB Local's data: topics, offsets and the
 * checkpoint table go. The explicit way to start from nothing (PostgreSQL's rows stay: npm run reset).
 */
export async function servicesWipe(log = console.log): Promise<void> {
  await servicesDown(log, false);
  rmSync(paths.data, { recursive: true, force: true });
  log(`wiped      ${paths.data}`);
}

export async function servicesStatus(
  settings: ServiceSettings = serviceSettings(),
  log = console.log,
): Promise<boolean> {
  const rows: [string, boolean, number | null][] = [
    ['kafka', await kafkaAnswers(settings), runningPid('kafka')],
    ['dynamodb', await dynamoAnswers(settings), runningPid('dynamodb')],
    ['postgres', await postgresAnswers(settings), null],
  ];
  for (const [name, up, pid] of rows) {
    const owner = pid !== null ? `pid ${pid}` : name === 'postgres' ? 'machine' : up ? 'not ours' : '';
    log(`${name.padEnd(10)} ${up ? 'up  ' : 'down'}  ${owner}`);
  }
  return rows.every(([, up]) => up);
}
