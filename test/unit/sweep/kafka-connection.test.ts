import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigError } from '../../../lib/errors.ts';
import {
  connectKafka,
  type KafkaConnectionSettings,
  kafkaConfig,
  kafkaSecret,
} from '../../../lib/sweep/index.ts';
import { caught, expectNoSecret } from '../../helpers/secrets.ts';

// How the sweep reaches the brokers for its idle ticks (docs/STATE.md section 1), per KAFKA_AUTH:
// the kafkajs settings each mode gives, without a broker.

const settings = (auth: KafkaConnectionSettings['auth']): KafkaConnectionSettings => ({
  auth,
  brokers: [],
  mskClusterArn: undefined,
  authSecretArn: 'arn:aws:secretsmanager:us-east-1:111122223333:secret:kafka-AbCdEf',
  region: 'eu-west-1',
});
const BROKERS = ['b-1.example:9096', 'b-2.example:9096'];

describe('kafkaConfig', () => {
  it('connects in plaintext with no credentials when KAFKA_AUTH is none (local Kafka)', () => {
    // Act
    const config = kafkaConfig(settings('none'), 'sweep', ['127.0.0.1:9092'], {});

    // Assess
    expect(config).toMatchObject({ clientId: 'sweep', brokers: ['127.0.0.1:9092'] });
    expect(config.ssl).toBeUndefined();
    expect(config.sasl).toBeUndefined();
  });

  it('uses TLS and SASL OAUTHBEARER with a token provider for MSK IAM', () => {
    // Act
    const config = kafkaConfig(settings('iam'), 'sweep', BROKERS, {});

    // Assess
    expect(config.ssl).toBe(true);
    expect(config.sasl).toMatchObject({
      mechanism: 'oauthbearer',
      oauthBearerProvider: expect.any(Function),
    });
  });

  it('uses TLS and SCRAM-SHA-512 with the secret of the event source mapping', () => {
    // Act
    const config = kafkaConfig(settings('sasl-scram-512'), 'sweep', BROKERS, {
      username: 'u',
      password: 'p',
    });

    // Assess
    expect(config.ssl).toBe(true);
    expect(config.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'u', password: 'p' });
  });

  it('presents the client certificate of the secret for mTLS', () => {
    // Act
    const config = kafkaConfig(settings('mtls'), 'sweep', BROKERS, {
      certificate: 'CERT',
      privateKey: 'KEY',
      privateKeyPassword: 'PASS',
    });

    // Assess
    expect(config.ssl).toEqual({ cert: 'CERT', key: 'KEY', passphrase: 'PASS' });
    expect(config.sasl).toBeUndefined();
  });

  it('names the field a secret lacks', () => {
    // Act
    const build = () => kafkaConfig(settings('sasl-scram-512'), 'sweep', BROKERS, { username: 'u' });

    // Assess
    expect(build).toThrow(ConfigError);
    expect(build).toThrow('the secret has no "password"');
  });
});

const PASSWORD = 'hunter2-Zq9';

describe('the Kafka credentials secret (KAFKA_AUTH_SECRET_ARN)', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('is read as the JSON object the event source mapping uses', () => {
    // Act
    const secret = kafkaSecret(JSON.stringify({ username: 'u', password: PASSWORD }), 'sasl-scram-512');

    // Assess
    expect(secret).toEqual({ username: 'u', password: PASSWORD });
    expect(kafkaSecret(undefined, 'sasl-scram-512')).toEqual({});
  });

  it.each([
    { auth: 'sasl-scram-512' as const, text: PASSWORD, shape: '{"username", "password"}' },
    {
      auth: 'sasl-scram-512' as const,
      text: `{"username": "u", "password": "${PASSWORD}",}`,
      shape: '{"username"',
    },
    {
      auth: 'mtls' as const,
      text: `-----BEGIN PRIVATE KEY-----${PASSWORD}`,
      shape: '{"certificate", "privateKey"',
    },
    { auth: 'mtls' as const, text: JSON.stringify(PASSWORD), shape: '{"certificate", "privateKey"' },
  ])('that is not a JSON object is refused without any of its text ($auth)', ({ auth, text, shape }) => {
    // Act
    let error: unknown;
    try {
      kafkaSecret(text, auth);
    } catch (e) {
      error = e;
    }

    // Assess
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain('KAFKA_AUTH_SECRET_ARN');
    expect((error as Error).message).toContain(shape);
    expect((error as Error).cause).toBeUndefined();
    expectNoSecret(error, PASSWORD);
  });

  it('read by connectKafka: a non-JSON secret stops it without its text', async () => {
    // Prepare: the secret reader (Secrets Manager on AWS) answers with a plain-text secret.
    const read = vi.fn(async () => PASSWORD);

    // Act
    const error = await caught(() =>
      connectKafka({ ...settings('sasl-scram-512'), brokers: BROKERS }, 'sweep', read),
    );

    // Assess
    expect(read).toHaveBeenCalledOnce();
    expect(error).toBeInstanceOf(ConfigError);
    expectNoSecret(error, PASSWORD);
  });
});
