import { describe, expect, it } from 'vitest';
import {
  EXPERIMENTS,
  type ExperimentName,
  type ExperimentResult,
  runExperiment,
} from '../../scripts/chaos/experiments.ts';
import type { SettingsName } from '../../scripts/chaos/settings.ts';

// The chaos experiments of issues 10 and 17, the fast subset CI runs: every experiment of
// `npm run chaos` once, at a small size (a few thousand events, faults of seconds), each running
// the job as users do (serverless offline start, idle flush on), injecting its fault while events
// flow, then judging without the job's code (scripts/chaos/verify.ts): the topic read back with
// kafkajs, every record classified from what the producer wrote, each partition folded with the
// test reference and a final flush, every row and rejection compared.
//
// The settings matrix is spread over the experiments: each runs under one of the settings, and
// every setting is covered by several experiments.
//
// The tests are concurrent, at most `maxConcurrency` at a time (vitest.config.ts, integration
// project): each spends most of its time waiting for silences and faults. Vitest queues the rest
// and a queued test's timeout starts only when it starts (its limiter calls the test function,
// which the timeout wraps: @vitest/runner, runTest), so TIMEOUT covers one experiment's own run.

const SEED = Number(process.env.CHAOS_SEED ?? Date.now() % 1_000_000);
const TIMEOUT = 420_000;

const PLAN: Readonly<Record<ExperimentName, SettingsName>> = {
  kill: 'lateness',
  'kafka-restart': 'kafka-time',
  'dynamodb-restart': 'lateness',
  'dynamodb-lost': 'defaults',
  'postgres-refuse': 'kafka-time',
  'postgres-partition': 'lateness',
  starve: 'defaults',
  'clock-behind': 'defaults',
  'clock-ahead': 'kafka-time',
  history: 'lateness',
  bursts: 'kafka-time',
  'future-tick': 'defaults',
  'outage-backlog': 'lateness',
  'poison-timestamp': 'defaults',
};

async function run(name: ExperimentName): Promise<ExperimentResult> {
  const lines: string[] = [];
  try {
    return await runExperiment(name, {
      events: 3000,
      rate: 1000,
      users: 300,
      partitions: 3,
      faultMs: 6000,
      kills: 2,
      bursts: 3,
      settings: PLAN[name],
      seed: SEED,
      log: (line) => lines.push(line),
    });
  } finally {
    console.log(`[chaos seed ${SEED}] ${lines.join('\n  ')}`);
  }
}

describe.concurrent(`chaos experiments, fast subset (seed ${SEED})`, () => {
  it.each(EXPERIMENTS.filter((e) => e !== 'dynamodb-lost').map((e) => [e, PLAN[e]]))(
    '%s [%s]: no row lost, over-counted, under-counted or extra, no record wrongly late, ticks mid-stream',
    async (name) => {
      // Act
      const { verdict, ok, problems } = await run(name as ExperimentName);

      // Assess
      expect(problems).toEqual([]);
      expect(verdict.examples).toEqual([]);
      expect(verdict).toMatchObject({
        lost: 0,
        overCounted: 0,
        underCounted: 0,
        extra: 0,
        sessionRowsWrong: 0,
        wronglyLate: 0,
        missedLate: 0,
        rejectsWrong: 0,
        keysInTwoPartitions: 0,
      });
      expect(verdict.counted).toBe(verdict.expectedCounted);
      expect(verdict.sessions).toBeGreaterThan(100);
      expect(verdict.ticksMidStream).toBeGreaterThan(0);
      if (name === 'outage-backlog') expect(verdict.eventsBehindTicks).toBeGreaterThan(0);
      if (name === 'future-tick') expect(verdict.forgedTicks).toBe(12);
      expect(ok).toBe(true);
    },
    TIMEOUT,
  );

  it(
    'dynamodb-lost [defaults]: the job reports lost state, commits nothing more and writes nothing wrong',
    async () => {
      // Act
      const { verdict, notes, ok, problems } = await run('dynamodb-lost');

      // Assess
      expect(problems).toEqual([]);
      expect(notes).toEqual(expect.arrayContaining(['CheckpointLost reported', 'committed offsets stopped']));
      expect(verdict).toMatchObject({ overCounted: 0, wronglyLate: 0 });
      expect(verdict.extra).toBe(verdict.extraInsideSessions);
      expect(verdict.ticksMidStream).toBeGreaterThan(0);
      expect(ok).toBe(true);
    },
    TIMEOUT,
  );
});
