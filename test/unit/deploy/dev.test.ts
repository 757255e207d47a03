import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../lib/config.ts';
import { type Packaged, PackageError, packageService, REPO, runOsls } from './support/package.ts';
import type { JsonObject } from './support/template.ts';

// The dev stage is never deployed; it is what `serverless invoke local` and `serverless offline
// start` run, so its template shows what the functions get on a laptop. Packaged once for the
// file, with two of the local settings overridden from the environment as a test harness would.

const seedBatch = JSON.parse(readFileSync(join(REPO, 'events/seed-batch.json'), 'utf8')) as {
  eventSourceArn: string;
};

let dev: Packaged;

beforeAll(async () => {
  dev = await packageService({
    stage: 'dev',
    env: { CHECKPOINT_TABLE: 'checkpoints_test_x1', KAFKA_TOPIC: 'user_activity_test_x1' },
  });
}, 180_000);

afterAll(() => dev?.cleanUp());

const variables = (id: string) =>
  (dev.template.resource(id).properties.Environment as JsonObject).Variables as Record<string, string>;

describe('serverless.yml, dev stage (local)', () => {
  it.each(['SessionizeLambdaFunction', 'SweepLambdaFunction'])(
    '%s gets an environment the job accepts (no unset param turned into "null")',
    (id) => {
      // Act: what loadConfig makes of it, as the function's cold start would.
      const load = () => loadConfig(variables(id));

      // Assess
      expect(load).not.toThrow();
      expect(Object.entries(variables(id)).filter(([, v]) => v === 'null' || v === 'undefined')).toEqual([]);
    },
  );

  it('sessionize talks to DynamoDB Local and PostgreSQL on 127.0.0.1, outside any VPC', () => {
    // Assess
    expect(variables('SessionizeLambdaFunction')).toMatchObject({
      DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000',
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/flink_db',
    });
    expect(variables('SessionizeLambdaFunction')).not.toHaveProperty('DATABASE_SECRET_ARN');
    expect(dev.template.resource('SessionizeLambdaFunction').properties.VpcConfig).toBeUndefined();
  });

  it('sweep reads DynamoDB Local and appends its idle ticks to the local broker, no database', () => {
    // Assess
    expect(variables('SweepLambdaFunction')).toMatchObject({
      DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000',
      KAFKA_BROKERS: '127.0.0.1:9092',
      KAFKA_AUTH: 'none',
    });
    // Only the provider-wide connection settings, which the sweep never uses: no URL, no secret.
    expect(
      Object.keys(variables('SweepLambdaFunction'))
        .filter((k) => k.startsWith('DATABASE_'))
        .sort(),
    ).toEqual(['DATABASE_POOL_SIZE', 'DATABASE_PREPARED_STATEMENTS', 'DATABASE_QUERY_TIMEOUT_MS']);
    expect(dev.template.resource('SweepLambdaFunction').properties.VpcConfig).toBeUndefined();
  });

  it('takes the table and topic from the environment (CHECKPOINT_TABLE, KAFKA_TOPIC) when set', () => {
    expect(variables('SessionizeLambdaFunction')).toMatchObject({
      CHECKPOINT_TABLE: 'checkpoints_test_x1',
      KAFKA_TOPIC: 'user_activity_test_x1',
    });
  });

  it('keeps an msk event on the cluster ARN of events/seed-batch.json for the local trigger', () => {
    // Prepare
    const [mapping] = dev.template.ofType('AWS::Lambda::EventSourceMapping');

    // Assess
    expect(mapping?.properties).toMatchObject({
      EventSourceArn: seedBatch.eventSourceArn,
      Topics: ['user_activity_test_x1'],
      AmazonManagedKafkaEventSourceConfig: { ConsumerGroupId: 'sessionizer-dev' },
    });
  });

  it('bundles .js, which osls invoke local can load (it does not look for .mjs)', () => {
    expect(dev.zip('sessionize').entries.map((e) => e.name)).toContain('functions/sessionize.js');
  });
});

describe('serverless.yml, prod stage without a params file', () => {
  it('stops before packaging and names the settings it misses', async () => {
    // Act
    const run = runOsls(['print', '--stage', 'prod'], {
      ...process.env,
      SESSIONIZER_PARAMS_FILE: join(REPO, 'examples', 'no-such-params.yml'),
    });

    // Assess
    const error = await run.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PackageError);
    expect((error as PackageError).output).toMatch(/DATABASE_SECRET_ARN.*Value not found at "param" source/);
  }, 60_000);
});
