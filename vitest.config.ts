import { defineConfig } from 'vitest/config';

// Two suites: `unit` needs nothing running; `integration` talks to the real Kafka broker,
// DynamoDB Local and PostgreSQL, which its global setup starts when they are not up yet.
export default defineConfig({
  test: {
    // In CI a JSON report lets .ci/run print a plain "N passed, N failed" line.
    reporters: process.env.CI ? ['default', 'json'] : ['default'],
    outputFile: { json: '.services/vitest-report.json' },
    // The job's one-line-per-batch logs and EMF metric lines would drown the test output;
    // warnings still show. Tests that check logs or metrics turn them back on for themselves.
    env: {
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      POWERTOOLS_METRICS_DISABLED: process.env.POWERTOOLS_METRICS_DISABLED ?? 'true',
      // The AWS SDK's nine-line Node 20 warning, once per test file (scripts/local-env.ts).
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED:
        process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ?? 'true',
    },
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
          // Not Vitest's 5 s: the property tests and the serverless package tests take 1-4 s on an
          // idle 2-core machine and several times that while another suite runs beside them. The
          // limit only catches a test that hangs.
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/helpers/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // Concurrent tests (only test/e2e/chaos.test.ts has them) run at most this many at a
          // time; the others wait in Vitest's queue, where their timeout has not started yet.
          maxConcurrency: 3,
        },
      },
    ],
  },
});
