/**
 * The main job in one command: checks every setting (one message naming each bad one), starts the
 * local services when needed (Kafka, DynamoDB Local, PostgreSQL; topic, checkpoint table and
 * schema), then `serverless offline start` with the repo's Kafka trigger, and says where to send
 * events and how to see the rows. Ctrl-C stops it cleanly (the services keep running;
 * `npm run services:down` stops them).
 */
import './local-env.ts';
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { parseArgs } from 'node:util';
import { type Config, loadLocalConfig } from '../lib/config.ts';
import { ConfigError } from '../lib/errors.ts';
import { loadValueSchema } from '../lib/parse/index.ts';
import { JOB_V8_FLAGS } from './local-env.ts';
import { servicesUp } from './services/index.ts';
import { paths, pidFile } from './services/paths.ts';
import { runningPid } from './services/processes.ts';
import { serviceSettings } from './services/settings.ts';

/** serverless-offline's Lambda port unless `--lambdaPort` says otherwise. */
const DEFAULT_LAMBDA_PORT = 3002;

/** Whether something already listens on 127.0.0.1:`port`. */
function portTaken(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(true));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(false)));
  });
}

/**
 * A second `npm start` would get through every check and then die on serverless-offline's port
 * with a raw EADDRINUSE: say what runs and how to stop it instead, before anything starts.
 */
async function refuseSecondJob(args: readonly string[]): Promise<void> {
  const running = runningPid('job');
  if (running !== null) {
    throw new Error(
      `The job is already running (npm start, pid ${running}). Stop it with Ctrl-C where it runs, ` +
        `or kill ${running}, then npm start again; npm run status shows what it is doing.`,
    );
  }
  const { values } = parseArgs({
    args: [...args],
    options: { lambdaPort: { type: 'string' } },
    strict: false,
  });
  const port = Number(values.lambdaPort ?? DEFAULT_LAMBDA_PORT);
  if (await portTaken(port)) {
    throw new Error(
      `127.0.0.1:${port}, serverless offline's Lambda port, is taken: another serverless offline ` +
        `(a job started by other means) is running. Stop it, or start this one with -- --lambdaPort <free port>.`,
    );
  }
}

/** The settings that decide the rows, as one line, so the terminal shows what the job runs with. */
export function describeSettings(config: Config): string {
  const { gapMs, outOfOrdernessMs, allowedLatenessMs } = config.engine;
  const idle = config.idleFlush ? `idle flush after ${config.idleTimeoutMs} ms` : 'no idle flush';
  const { userIdField, eventTimeField, eventTimeUnit } = config.fields;
  const time =
    config.eventTimeSource === 'kafka'
      ? 'the Kafka record timestamp'
      : `the payload (objects: "${eventTimeField}", numbers in ${eventTimeUnit === 's' ? 'seconds' : 'milliseconds'})`;
  const values =
    config.value.format === 'text'
      ? 'text or JSON values'
      : `${config.value.format} values of ${config.value.schemaFile} (schema ids ${config.value.schemaIds.join(', ')})`;
  return (
    `gap ${gapMs} ms, out-of-orderness ${outOfOrdernessMs} ms, allowed lateness ${allowedLatenessMs} ms, ` +
    `${values}, user id from "${userIdField}" in objects, event time from ${time}, ${idle}`
  );
}

async function main(): Promise<void> {
  // The dev stage hands these very variables to the functions (serverless.yml params.dev), so a
  // bad one is caught here, before anything starts, instead of failing every invocation.
  const config = loadLocalConfig(process.env);
  // The schema file too: the functions read it from the repository (their working directory).
  if (config.value.format !== 'text') loadValueSchema(config.value);
  await refuseSecondJob(process.argv.slice(2));
  mkdirSync(paths.run, { recursive: true });
  writeFileSync(pidFile('job'), String(process.pid));
  process.on('exit', () => rmSync(pidFile('job'), { force: true }));
  const settings = serviceSettings();
  await servicesUp(settings);
  const brokers = settings.kafkaBrokers.join(',');
  const db = new URL(settings.databaseUrl);
  const psql = `psql -h ${db.hostname} -p ${db.port || 5432} -U ${decodeURIComponent(db.username) || 'postgres'} -d ${db.pathname.slice(1)}`;
  console.log(`
Job settings: ${describeSettings(config)}.
Send events to topic "${settings.topic}" on ${brokers} once the trigger logs "ready":
  npm run demo                                   the seed scenario, then prints its rows
  npm run produce -- user_A,1000 user_A,2000     events as arguments (or stdin, or --file)
  scripts/kafka-cli console-producer --bootstrap-server ${brokers} --topic ${settings.topic}
                                                 Kafka's own console producer (type user_A,1000)
See the rows and the job's progress:
  ${psql} -c 'SELECT * FROM aggregated_counts ORDER BY group_key'
  ${psql} -c 'SELECT * FROM rejected_events'
  npm run status
Ctrl-C stops the job (the services keep running: npm run services:down).
`);
  const require = createRequire(import.meta.url);
  const serverless = require.resolve('osls/bin/serverless.js');
  // Source maps for the process and its worker threads (which run the functions): a stack trace
  // points at functions/*.ts and lib/**/*.ts, not at the bundle. And the functions' V8 flags.
  const child = spawn(
    process.execPath,
    ['--enable-source-maps', ...JOB_V8_FLAGS, serverless, 'offline', 'start', ...process.argv.slice(2)],
    { stdio: 'inherit', env: process.env },
  );
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
  if (error instanceof ConfigError)
    console.error('Nothing was started. Fix or unset the settings named above.');
  process.exitCode = 1;
});
