/**
 * Runs the job as users run it: `serverless offline start` (osls, serverless-esbuild,
 * serverless-offline and the repo's Kafka trigger) as a child process, against a topic, consumer
 * group, checkpoint table and PostgreSQL schema of the caller's own, with its own esbuild folder and
 * Lambda port so that several run side by side. The e2e tests and the chaos experiments use it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { setTimeout as delay } from 'node:timers/promises';
import { serviceSettings } from '../services/settings.ts';
import { freePort } from './instances.ts';

export interface JobOptions {
  readonly name: string;
  readonly topic: string;
  readonly group: string;
  readonly table: string;
  readonly schema: string;
  /** Default: the local services (KAFKA_BROKERS, DYNAMODB_ENDPOINT, DATABASE_URL or their defaults). */
  readonly brokers?: string;
  readonly dynamodbEndpoint?: string;
  readonly databaseUrl?: string;
  readonly params?: Readonly<Record<string, string>>;
  readonly env?: Readonly<Record<string, string>>;
}

export interface JobProcess {
  readonly child: ChildProcess;
  output(): string;
  /** Resolves when the trigger logged that it reads the topic. */
  ready(timeoutMs?: number): Promise<void>;
  /** How the process ended when nobody called stop() (a crash, or a signal from elsewhere). */
  unexpectedExit(): string | undefined;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const serverlessBin = createRequire(import.meta.url).resolve('osls/bin/serverless.js');

export function withSearchPath(databaseUrl: string, schema: string): string {
  const url = new URL(databaseUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return url.toString();
}

export async function startJob(options: JobOptions): Promise<JobProcess> {
  const defaults = serviceSettings();
  const params = {
    consumerGroupId: options.group,
    batchSize: '100',
    maximumBatchingWindow: '0',
    ...options.params,
  };
  const args = [serverlessBin, 'offline', 'start', '--lambdaPort', String(await freePort())];
  for (const [k, v] of Object.entries(params)) args.push('--param', `${k}=${v}`);
  // Under .services/ (ignored by git and Biome), so a crashed run leaves nothing in the tree.
  const workFolder = `.services/esbuild-e2e-${options.name}`;
  // Its own process group, so that stop() signals esbuild's service process with it, as Ctrl-C in a
  // terminal does (and as a Lambda container's end takes everything in it).
  const child = spawn(process.execPath, args, {
    cwd: process.cwd(),
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      KAFKA_TOPIC: options.topic,
      CHECKPOINT_TABLE: options.table,
      DATABASE_URL: withSearchPath(options.databaseUrl ?? defaults.databaseUrl, options.schema),
      DYNAMODB_ENDPOINT: options.dynamodbEndpoint ?? defaults.dynamodbEndpoint,
      KAFKA_BROKERS: options.brokers ?? defaults.kafkaBrokers.join(','),
      SESSIONIZER_ESBUILD_WORK_FOLDER: workFolder,
      OFFLINE_SWEEP_INTERVAL_SECONDS: '1',
      OFFLINE_RETRY_INITIAL_MS: '100',
      OFFLINE_RETRY_MAX_MS: '1000',
      LOG_LEVEL: 'info',
      // The test process turns metrics off (vitest.config.ts); the offline output shows them.
      POWERTOOLS_METRICS_DISABLED: 'false',
      ...options.env,
    },
  });
  let out = '';
  const append = (d: Buffer) => {
    out += d.toString();
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  let stopping = false;
  let unexpected: string | undefined;
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code, signal) => {
      if (!stopping) {
        unexpected = `exited by itself at ${new Date().toISOString()} (code ${code}, signal ${signal})`;
      }
      resolve(code);
    }),
  );
  return {
    child,
    output: () => out,
    ready: async (timeoutMs = 120_000) => {
      const deadline = Date.now() + timeoutMs;
      while (!out.includes(`<- ${options.topic} (group ${options.group})`)) {
        if (child.exitCode !== null) throw new Error(`serverless offline exited:\n${out}`);
        if (Date.now() > deadline) throw new Error(`serverless offline not ready:\n${out}`);
        await delay(100);
      }
    },
    unexpectedExit: () => unexpected,
    stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
      stopping = true;
      const group = child.pid === undefined ? undefined : -child.pid;
      if (group !== undefined) signalGroup(group, signal);
      const code = await exited;
      // esbuild's service process outlives a SIGKILLed offline for a moment, and once in CI a file
      // appeared in .build after offline had exited (ENOTEMPTY from rmSync, whose own retries only
      // repeat the last rmdir): wait until the whole group is gone, then remove the folder,
      // starting over while something still writes into it.
      if (group !== undefined) await groupGone(group);
      await removeFolder(workFolder);
      return code;
    },
  };
}

function signalGroup(group: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(group, signal);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

/**
 * Waits until no process of the group is left: SIGKILLs what is left after 10 s, and gives up after
 * 15 s (a zombie that nothing reaps still counts, but writes nothing).
 */
async function groupGone(group: number): Promise<void> {
  const started = Date.now();
  while (signalGroup(group, 0) && Date.now() - started < 15_000) {
    if (Date.now() - started > 10_000) signalGroup(group, 'SIGKILL');
    await delay(50);
  }
}

async function removeFolder(folder: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      rmSync(folder, { recursive: true, force: true });
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOTEMPTY' || Date.now() > deadline) throw error;
      await delay(100);
    }
  }
}
