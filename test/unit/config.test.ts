import { describe, expect, it } from 'vitest';
import { loadConfig, loadLocalConfig } from '../../lib/config.ts';
import { ConfigError } from '../../lib/errors.ts';

/** The message of the ConfigError `load` throws. */
function messageOf(load: () => unknown): string {
  try {
    load();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('gives the documented defaults when nothing is set', () => {
    // Act
    const config = loadConfig({});

    // Assess
    expect(config).toMatchObject({
      engine: { gapMs: 5000, outOfOrdernessMs: 0, allowedLatenessMs: 0 },
      eventTimeSource: 'payload',
      topic: 'user_activity',
      idleFlush: true,
      idleTimeoutMs: 5_000,
      checkpointTable: 'sessionizer-checkpoints',
      dynamodbEndpoint: undefined,
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/flink_db',
      databaseSecretArn: undefined,
      databaseSsl: 'off',
    });
  });

  it('reads every setting it is given', () => {
    // Act
    const config = loadConfig({
      SESSION_GAP_MS: '30000',
      OUT_OF_ORDERNESS_MS: '2000',
      ALLOWED_LATENESS_MS: '1000',
      EVENT_TIME_SOURCE: 'kafka',
      IDLE_FLUSH: 'false',
      DATABASE_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:111122223333:secret:db-Ab12Cd',
    });

    // Assess
    // IDLE_FLUSH=false turns early firing off (ticks are read and ignored).
    expect(config.engine).toEqual({
      gapMs: 30_000,
      outOfOrdernessMs: 2000,
      allowedLatenessMs: 1000,
      idleFlush: false,
    });
    expect(config).toMatchObject({ eventTimeSource: 'kafka', idleFlush: false, databaseSsl: 'verify-full' });
  });

  it('stops with one message that names every bad setting', () => {
    // Act
    const message = messageOf(() =>
      loadConfig({
        SESSION_GAP_MS: '0',
        OUT_OF_ORDERNESS_MS: '-5',
        IDLE_FLUSH: 'maybe',
        EVENT_TIME_SOURCE: 'clock',
        DATABASE_URL: 'mysql://db',
        LOG_LEVEL: 'verbose',
      }),
    );

    // Assess
    for (const name of [
      'SESSION_GAP_MS="0"',
      'OUT_OF_ORDERNESS_MS="-5"',
      'IDLE_FLUSH="maybe"',
      'EVENT_TIME_SOURCE="clock"',
      'DATABASE_URL="mysql://db"',
      'LOG_LEVEL="verbose"',
    ]) {
      expect(message).toContain(name);
    }
  });

  it.each([
    { env: { KAFKA_AUTH: 'sasl-scram-512' }, names: 'KAFKA_AUTH_SECRET_ARN=""' },
    { env: { KAFKA_AUTH: 'mtls' }, names: 'KAFKA_AUTH_SECRET_ARN=""' },
    { env: { KAFKA_AUTH: 'iam' }, names: 'MSK_CLUSTER_ARN=""' },
  ])('names the missing partner of $env.KAFKA_AUTH', ({ env, names }) => {
    // Act
    const load = () => loadConfig(env);

    // Assess
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(names);
  });

  it('reaches MSK by its cluster ARN when no brokers are given', () => {
    // Act
    const config = loadConfig({
      KAFKA_AUTH: 'iam',
      MSK_CLUSTER_ARN: 'arn:aws:kafka:us-east-1:111122223333:cluster/c/abc',
    });

    // Assess
    expect(config.kafka).toMatchObject({
      auth: 'iam',
      brokers: [],
      mskClusterArn: expect.stringContaining(':cluster/'),
    });
    expect(loadConfig({}).kafka).toMatchObject({ auth: 'none', brokers: ['127.0.0.1:9092'] });
  });

  it('takes the log level in any case', () => {
    // Act
    const load = () => loadConfig({ LOG_LEVEL: 'DEBUG', POWERTOOLS_LOG_LEVEL: 'Warn' });

    // Assess
    expect(load).not.toThrow();
  });
});

describe('loadLocalConfig (npm start)', () => {
  it('accepts the defaults and well-formed local settings', () => {
    // Act
    const config = loadLocalConfig({
      KAFKA_BROKERS: '127.0.0.1:9092,localhost:9093',
      KAFKA_TOPIC_PARTITIONS: '3',
      OFFLINE_SWEEP_INTERVAL_SECONDS: '0',
      EVENT_TIME_SOURCE: 'kafka',
    });

    // Assess
    expect(config.eventTimeSource).toBe('kafka');
  });

  it('names the bad job settings and the bad local settings in one message', () => {
    // Act
    const message = messageOf(() =>
      loadLocalConfig({
        IDLE_TIMEOUT_MS: 'abc',
        SESSION_GAP_MS: 'abc',
        KAFKA_BROKERS: 'localhost',
        KAFKA_TOPIC_PARTITIONS: '0',
        OFFLINE_SWEEP_INTERVAL_SECONDS: 'often',
        OFFLINE_RETRY_MAX_MS: '-1',
        OFFLINE_KAFKA_FETCH_STALL_MS: '10',
      }),
    );

    // Assess
    expect(message).toMatch(/^Invalid configuration: /);
    for (const name of [
      'IDLE_TIMEOUT_MS="abc"',
      'SESSION_GAP_MS="abc"',
      'KAFKA_BROKERS="localhost"',
      'KAFKA_TOPIC_PARTITIONS="0"',
      'OFFLINE_SWEEP_INTERVAL_SECONDS="often"',
      'OFFLINE_RETRY_MAX_MS="-1"',
      'OFFLINE_KAFKA_FETCH_STALL_MS="10"',
    ]) {
      expect(message).toContain(name);
    }
  });

  it('treats an empty value as unset, as serverless.yml does', () => {
    // Act
    const config = loadLocalConfig({ SESSION_GAP_MS: '', KAFKA_TOPIC_PARTITIONS: '' });

    // Assess
    expect(config.engine.gapMs).toBe(5000);
  });
});
