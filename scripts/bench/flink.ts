/**
 * The flink tier's job (scripts/bench/flink/): the reference lab's Flink 1.20 job, built on first
 * use with Maven into .services/flink (outside git), run in local mode (one JVM, a MiniCluster,
 * parallelism 1) on the same Kafka topic and PostgreSQL as the job, into a schema of its own so its
 * rows can be compared with the engine's. docs/BENCHMARKS.md, "The flink tier".
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { migrate } from '../../lib/sink/index.ts';
import { runMaven } from '../services/maven.ts';
import { ROOT, SERVICES_DIR } from '../services/paths.ts';

const SOURCE = path.join(ROOT, 'scripts/bench/flink');
const BUILD = path.join(SERVICES_DIR, 'flink', 'build');

/** Every file the build depends on (the pom and the sources), in a stable order. */
function sourceFiles(dir = SOURCE): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((e) => {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) return e.name === 'target' ? [] : sourceFiles(full);
      return [full];
    });
}

/**
 * Builds the job (mvn package) and copies its runtime classpath (Flink, the Kafka and JDBC
 * connectors, the PostgreSQL driver, log4j) next to it, once: a marker holds the hash of the pom
 * and sources, so an edit rebuilds. Returns the classpath.
 */
export function ensureFlinkJob(say: (line: string) => void): string {
  const marker = path.join(BUILD, '.complete');
  const hash = createHash('sha256');
  for (const file of sourceFiles()) hash.update(path.relative(SOURCE, file)).update(readFileSync(file));
  const digest = hash.digest('hex');
  const classpath = `${path.join(BUILD, 'flink-session-job-1.jar')}${path.delimiter}${path.join(BUILD, 'libs', '*')}`;
  if (existsSync(marker) && readFileSync(marker, 'utf8') === digest) return classpath;
  say(`flink: building the reference job with Maven into ${BUILD} (first run only)`);
  runMaven('building the Flink job', path.join(SOURCE, 'pom.xml'), [
    `-Dflink.build.dir=${BUILD}`,
    'package',
    'dependency:copy-dependencies',
  ]);
  writeFileSync(marker, digest);
  return classpath;
}

export interface FlinkJobOptions {
  readonly topic: string;
  /** Records per partition: the source stops at these offsets (a new topic starts at 0). */
  readonly endOffsets: readonly number[];
  readonly schema: string;
  readonly gapMs: number;
  readonly outOfOrdernessMs: number;
  /** JdbcExecutionOptions: rows per JDBC batch, and the flush interval of a partial batch. */
  readonly jdbcBatchSize: number;
  readonly jdbcBatchIntervalMs: number;
}

export interface FlinkDone {
  /** Wall clock when the job read its first record. */
  readonly firstRecordAt: number;
  readonly finishedAt: number;
  readonly peakRssMb: number;
}

export interface FlinkJob {
  readonly process: ChildProcess;
  /** Every task of the job runs. */
  readonly ready: Promise<void>;
  readonly done: Promise<FlinkDone>;
}

/** The lab's JDBC URL for the local database, with the run's schema first. */
export function jdbcUrl(databaseUrl: string, schema: string): string {
  const url = new URL(databaseUrl);
  const params = new URLSearchParams({ currentSchema: schema });
  if (url.username !== '') params.set('user', decodeURIComponent(url.username));
  if (url.password !== '') params.set('password', decodeURIComponent(url.password));
  return `jdbc:postgresql://${url.host}${url.pathname}?${params}`;
}

/**
 * Starts the job on its own JVM. Its stdout carries two JSON lines (ready, done); its log (warnings
 * only) is kept and shown only if it fails, so it does not break the progress line.
 */
export function startFlinkJob(
  classpath: string,
  brokers: readonly string[],
  databaseUrl: string,
  options: FlinkJobOptions,
): FlinkJob {
  const child = spawn(
    'java',
    [
      '-Xmx2g',
      '-cp',
      classpath,
      'dev.sessionizer.bench.SessionJob',
      brokers.join(','),
      options.topic,
      options.endOffsets.map((n, p) => `${p}:${n}`).join(','),
      jdbcUrl(databaseUrl, options.schema),
      String(options.gapMs),
      String(options.outOfOrdernessMs),
      String(options.jdbcBatchSize),
      String(options.jdbcBatchIntervalMs),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  child.stderr?.on('data', (d) => {
    log = (log + d).slice(-20_000);
  });
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  const done = new Promise<FlinkDone>((resolve, reject) => {
    let out = '';
    let result: FlinkDone | undefined;
    child.stdout?.on('data', (d) => {
      out += d;
      for (let nl = out.indexOf('\n'); nl >= 0; nl = out.indexOf('\n')) {
        const line = out.slice(0, nl).trim();
        out = out.slice(nl + 1);
        if (!line.startsWith('{')) continue;
        const message = JSON.parse(line) as { type: string } & FlinkDone;
        if (message.type === 'ready') markReady();
        else if (message.type === 'done') result = message;
      }
    });
    child.on('exit', (code, signal) => {
      if (code === 0 && result !== undefined) resolve(result);
      else reject(new Error(`the Flink job exited (${signal ?? code}):\n${log}`));
    });
  });
  // A job that dies before it is ready must not leave the caller waiting.
  return { process: child, ready: Promise.race([ready, done.then(() => undefined)]), done };
}

/**
 * A schema for the Flink job's rows: the lab's aggregated_counts (the job's migrate(), so the very
 * same table), plus written_at, set by PostgreSQL when a row is inserted: the job says nothing
 * about when each row became visible, and the latency needs it. Its upsert names its columns, so
 * the extra column changes nothing it does.
 */
export async function prepareFlinkSchema(databaseUrl: string, schema: string): Promise<void> {
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  try {
    await migrate(admin, schema);
    await admin.query(
      `ALTER TABLE ${admin.escapeIdentifier(schema)}.aggregated_counts
         ADD COLUMN written_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()`,
    );
  } finally {
    await admin.end();
  }
}
