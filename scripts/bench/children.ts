import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { JOB_V8_FLAGS } from '../local-env.ts';
import type { ChildMessage, Progress, Ready } from './protocol.ts';

export interface Child<T> {
  readonly process: ChildProcess;
  /** Resolves when the child said it is ready (only children that say so). */
  readonly ready: Promise<Ready>;
  readonly result: Promise<T>;
  send(message: unknown): void;
}

/**
 * Runs scripts/bench/<script> in a process of its own (TypeScript through tsx), with the job's
 * per-batch logs and EMF metrics off (they would interleave with the progress line; each is one
 * line per invocation) and Node's warnings (the AWS SDK's Node 20 notice) silenced. With
 * BENCH_CPU_PROF=<dir>, each child writes a V8 CPU profile there (open it in Chrome DevTools);
 * BENCH_NODE_FLAGS adds Node or V8 flags to every child's, e.g. `BENCH_NODE_FLAGS=--trace-gc` (each
 * collection of each thread's heap, one line each, on the bench's output). BENCH_HEAP_PROF=<dir>:
 * each end-to-end handler thread writes a sampling heap profile there (scripts/bench/e2e-handler.ts).
 */
export function startChild<T>(script: string, options: unknown, onProgress: (p: Progress) => void): Child<T> {
  const child = fork(fileURLToPath(new URL(script, import.meta.url)), [JSON.stringify(options)], {
    execArgv: [
      // The job's V8 flags, as deployed (serverless.yml's NODE_OPTIONS).
      ...JOB_V8_FLAGS,
      ...(process.env.BENCH_NODE_FLAGS?.split(' ').filter(Boolean) ?? []),
      '--import',
      'tsx',
      ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []),
    ],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: {
      ...process.env,
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
      POWERTOOLS_METRICS_DISABLED: 'true',
      NODE_NO_WARNINGS: '1',
    },
  });
  let markReady: (message: Ready) => void = () => undefined;
  const ready = new Promise<Ready>((resolve) => {
    markReady = resolve;
  });
  const result = new Promise<T>((resolve, reject) => {
    let settled = false;
    child.on('message', (message: ChildMessage<T>) => {
      if (message.type === 'progress') onProgress(message);
      else if (message.type === 'ready') markReady(message);
      else if (message.type === 'result') {
        settled = true;
        resolve(message.result);
      }
    });
    child.on('exit', (code, signal) => {
      if (!settled) reject(new Error(`${script} exited (${signal ?? code}) without a result`));
    });
  });
  // A child that dies before it is ready must not leave the parent waiting.
  const readyOrDead = Promise.race([ready, result.then((): Ready => ({ type: 'ready' }))]);
  return { process: child, ready: readyOrDead, result, send: (m) => child.send(m as never) };
}
