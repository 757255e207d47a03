import { describe, expect, it } from 'vitest';
import { loadConfig, loadLocalConfig } from '../../lib/config.ts';
import { ConfigError } from '../../lib/errors.ts';
import { redactUrl, shownSetting } from '../../lib/shared/index.ts';
import { caught, expectNoSecret } from '../helpers/secrets.ts';

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
      fields: { userIdField: 'userId', eventTimeField: 'timestamp', eventTimeUnit: 'ms' },
      value: { format: 'text' },
    });
  });

  it.each([
    {
      env: { VALUE_FORMAT: 'avro', VALUE_SCHEMA_FILE: 'schemas/a.avsc', VALUE_SCHEMA_IDS: '1, 42' },
      value: {
        format: 'avro',
        schemaFile: 'schemas/a.avsc',
        schemaMessage: undefined,
        schemaIds: ['1', '42'],
      },
    },
    {
      env: {
        VALUE_FORMAT: 'protobuf',
        VALUE_SCHEMA_FILE: 'schemas/a.proto',
        VALUE_SCHEMA_MESSAGE: 'shop.Click',
        VALUE_SCHEMA_IDS: '6F1C2A3B-5D6E-4F70-8A9B-0C1D2E3F4A5B,7',
      },
      value: {
        format: 'protobuf',
        schemaFile: 'schemas/a.proto',
        schemaMessage: 'shop.Click',
        schemaIds: ['6f1c2a3b-5d6e-4f70-8a9b-0c1d2e3f4a5b', '7'],
      },
    },
  ])('reads a schema format: $env.VALUE_FORMAT', ({ env, value }) => {
    // Act
    const config = loadConfig(env);

    // Assess
    expect(config.value).toEqual(value);
  });

  it.each([
    {
      env: { VALUE_FORMAT: 'avro' },
      names: [
        'VALUE_SCHEMA_FILE="": must name the .avsc file of the schema, in the package, with VALUE_FORMAT=avro',
        'VALUE_SCHEMA_IDS="": is required with VALUE_FORMAT=avro',
      ],
    },
    {
      env: { VALUE_FORMAT: 'protobuf', VALUE_SCHEMA_FILE: 'schemas/a.avsc', VALUE_SCHEMA_IDS: '1' },
      names: ['VALUE_SCHEMA_FILE="schemas/a.avsc": must name the .proto file'],
    },
    {
      env: { VALUE_FORMAT: 'protobuf', VALUE_SCHEMA_FILE: 'schemas/a.proto', VALUE_SCHEMA_IDS: '1,x' },
      names: [
        'VALUE_SCHEMA_IDS="1,x": must be Confluent schema ids (numbers) or AWS Glue schema version ids (UUIDs)',
      ],
    },
    {
      env: {
        VALUE_FORMAT: 'avro',
        VALUE_SCHEMA_FILE: 'a.avsc',
        VALUE_SCHEMA_IDS: '1',
        VALUE_SCHEMA_MESSAGE: 'A',
      },
      names: ['VALUE_SCHEMA_MESSAGE="A": is only read with VALUE_FORMAT=protobuf'],
    },
    {
      env: { VALUE_SCHEMA_FILE: 'a.avsc', VALUE_SCHEMA_IDS: '1' },
      names: [
        'VALUE_SCHEMA_FILE="a.avsc": is only read with VALUE_FORMAT=avro or protobuf',
        'VALUE_SCHEMA_IDS="1": is only read with VALUE_FORMAT=avro or protobuf',
      ],
    },
    { env: { VALUE_FORMAT: 'json' }, names: ['VALUE_FORMAT="json": must be text, avro or protobuf'] },
  ])('names every bad value setting of $env', ({ env, names }) => {
    // Act
    const message = messageOf(() => loadConfig(env));

    // Assess
    for (const name of names) expect(message).toContain(name);
  });

  it('reads the field mapping, trimmed', () => {
    // Act
    const config = loadConfig({
      USER_ID_FIELD: ' user.id ',
      EVENT_TIME_FIELD: 'event_time',
      EVENT_TIME_UNIT: 's',
    });

    // Assess
    expect(config.fields).toEqual({
      userIdField: 'user.id',
      eventTimeField: 'event_time',
      eventTimeUnit: 's',
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
      DATABASE_PREPARED_STATEMENTS: 'off',
    });

    // Assess
    // IDLE_FLUSH=false turns early firing off (ticks are read and ignored).
    expect(config.engine).toEqual({
      gapMs: 30_000,
      outOfOrdernessMs: 2000,
      allowedLatenessMs: 1000,
      idleFlush: false,
    });
    expect(config).toMatchObject({
      eventTimeSource: 'kafka',
      idleFlush: false,
      databaseSsl: 'verify-full',
      databasePreparedStatements: false,
    });
    expect(loadConfig({}).databasePreparedStatements).toBe(true);
  });

  it('stops with one message that names every bad setting', () => {
    // Act
    const message = messageOf(() =>
      loadConfig({
        SESSION_GAP_MS: '0',
        OUT_OF_ORDERNESS_MS: '-5',
        IDLE_FLUSH: 'maybe',
        DATABASE_PREPARED_STATEMENTS: 'sometimes',
        EVENT_TIME_SOURCE: 'clock',
        DATABASE_URL: 'mysql://db',
        LOG_LEVEL: 'verbose',
        USER_ID_FIELD: 'user..id',
        EVENT_TIME_FIELD: '.ts',
        EVENT_TIME_UNIT: 'us',
      }),
    );

    // Assess
    for (const name of [
      'USER_ID_FIELD="user..id": must be a field name or a dotted path such as user.id',
      'EVENT_TIME_FIELD=".ts"',
      'EVENT_TIME_UNIT="us": must be "ms" (epoch milliseconds) or "s" (epoch seconds)',
      'SESSION_GAP_MS="0"',
      'OUT_OF_ORDERNESS_MS="-5"',
      'IDLE_FLUSH="maybe"',
      'DATABASE_PREPARED_STATEMENTS="sometimes"',
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

describe('the warm cache bound (WARM_CACHE_MB, docs/DEPLOY.md "Sizing")', () => {
  const MB = 2 ** 20;

  it.each([
    {
      what: 'half the function memory Lambda sets',
      env: { AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1024' },
      limit: 1024,
      cache: 512,
    },
    {
      what: 'what it is set to',
      env: { AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '10240', WARM_CACHE_MB: '6000' },
      limit: 10240,
      cache: 6000,
    },
  ])('is $what', ({ env, limit, cache }) => {
    // Act
    const { memory } = loadConfig(env);

    // Assess
    expect(memory).toEqual({ limitBytes: limit * MB, warmCacheBytes: cache * MB });
  });

  it('is half the V8 heap limit outside Lambda', () => {
    // Act
    const { memory } = loadConfig({});

    // Assess
    expect(memory.warmCacheBytes).toBe(Math.floor(memory.limitBytes / 2));
    expect(memory.limitBytes).toBeGreaterThan(100 * MB);
  });

  it('is refused, in the one message with every other bad setting, when not a size or not below the memory', () => {
    // Act
    const notANumber = messageOf(() => loadConfig({ WARM_CACHE_MB: 'lots', SESSION_GAP_MS: '0' }));
    const tooBig = messageOf(() =>
      loadConfig({ WARM_CACHE_MB: '2048', AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1024' }),
    );

    // Assess
    expect(notANumber).toMatch(/WARM_CACHE_MB="lots": must be a whole number >= 1/);
    expect(notANumber).toMatch(/SESSION_GAP_MS="0"/);
    expect(tooBig).toMatch(/WARM_CACHE_MB="2048": must be below the function's memory \(1024 MB\)/);
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

describe('a bad setting that holds a secret', () => {
  it.each([
    {
      what: 'a DATABASE_URL with a password and the wrong scheme',
      env: { DATABASE_URL: 'mysql://app:hunter2-Zq9@db.example:3306/flink_db' },
      secret: 'hunter2-Zq9',
      shown: 'DATABASE_URL="mysql://app:***@db.example:3306/flink_db": must be a postgres:// URL',
    },
    {
      what: 'a DATABASE_URL whose password has an unencoded @ and :',
      env: { DATABASE_URL: 'mysql://app:hun@ter:2-Zq9@db.example/flink_db' },
      secret: 'ter:2-Zq9',
      shown: 'DATABASE_URL="mysql://app:***@db.example/flink_db"',
    },
    {
      what: 'a DATABASE_URL with the password as a query parameter',
      env: { DATABASE_URL: 'mysql://db.example/flink_db?user=app&password=hunter2-Zq9&ssl=true' },
      secret: 'hunter2-Zq9',
      shown: 'DATABASE_URL="mysql://db.example/flink_db?user=app&password=***&ssl=true"',
    },
    {
      what: 'a DATABASE_URL that is a key=value connection string',
      env: { DATABASE_URL: 'host=db.example user=app password=hunter2-Zq9' },
      secret: 'hunter2-Zq9',
      shown: 'DATABASE_URL=(not a URL; not shown): must be a postgres:// URL',
    },
    {
      what: 'a secret pasted into DATABASE_SECRET_ARN',
      env: { DATABASE_SECRET_ARN: '{"username":"app","password":"hunter2-Zq9"}' },
      secret: 'hunter2-Zq9',
      shown: 'DATABASE_SECRET_ARN=(set; value not shown): must be a Secrets Manager secret ARN',
    },
    {
      what: 'a secret pasted into KAFKA_AUTH_SECRET_ARN',
      env: { KAFKA_AUTH: 'sasl-scram-512', KAFKA_AUTH_SECRET_ARN: 'hunter2-Zq9' },
      secret: 'hunter2-Zq9',
      shown: 'KAFKA_AUTH_SECRET_ARN=(set; value not shown)',
    },
    {
      what: 'a URL with credentials in another setting',
      env: { DYNAMODB_ENDPOINT: 'http://local:hunter2-Zq9@127.0.0.1 :8000' },
      secret: 'hunter2-Zq9',
      shown: 'DYNAMODB_ENDPOINT="http://local:***@127.0.0.1 :8000": must be a URL',
    },
  ])('is named without its secret: $what', async ({ env, secret, shown }) => {
    // Act
    const error = await caught(() => loadConfig(env));

    // Assess
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain(shown);
    expectNoSecret(error, secret);
  });

  it('is named without its secret by loadLocalConfig (npm start) too', async () => {
    // Act
    const error = await caught(() =>
      loadLocalConfig({ DATABASE_URL: 'mysql://app:hunter2-Zq9@db/x', KAFKA_TOPIC_PARTITIONS: '0' }),
    );

    // Assess
    expect(error.message).toContain('DATABASE_URL="mysql://app:***@db/x"');
    expect(error.message).toContain('KAFKA_TOPIC_PARTITIONS="0"');
    expectNoSecret(error, 'hunter2-Zq9');
  });
});

describe('redactUrl', () => {
  it.each([
    ['postgres://postgres@127.0.0.1:5432/flink_db', 'postgres://postgres@127.0.0.1:5432/flink_db'],
    ['postgres://app:s3cret@db:5432/flink_db', 'postgres://app:***@db:5432/flink_db'],
    ['postgres://app:@db/flink_db', 'postgres://app:***@db/flink_db'],
    ['postgres://app:p%40ss@db/flink_db?sslmode=require', 'postgres://app:***@db/flink_db?sslmode=require'],
    ['postgres://db/x?sslpassword=s3cret&password=s3cret', 'postgres://db/x?sslpassword=***&password=***'],
    ['db:5432', '(not a URL; not shown)'],
  ])('%s -> %s', (url, shown) => {
    // Act
    const redacted = redactUrl(url);

    // Assess
    expect(redacted).toBe(shown);
  });

  it('quotes other settings as they are', () => {
    // Act
    const shown = shownSetting('SESSION_GAP_MS', 'abc');

    // Assess
    expect(shown).toBe('"abc"');
  });
});
