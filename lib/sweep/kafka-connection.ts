import { GetBootstrapBrokersCommand, KafkaClient } from '@aws-sdk/client-kafka';
import { generateAuthToken } from 'aws-msk-iam-sasl-signer-js';
import { Kafka, type KafkaConfig, logLevel } from 'kafkajs';
import { ConfigError } from '../errors.ts';
import { parseJsonSecret, type SecretReader, secretsManagerReader } from '../shared/index.ts';

/**
 * How the sweep reaches the brokers to append idle ticks (docs/STATE.md section 1): the same
 * cluster and credentials the event source mapping uses.
 *
 * - `none`: plaintext, KAFKA_BROKERS (local Kafka).
 * - `iam`: Amazon MSK with IAM access control: SASL OAUTHBEARER with a token signed by the
 *   function's role (AWS's aws-msk-iam-sasl-signer-js), TLS, brokers from GetBootstrapBrokers.
 * - `sasl-scram-512`: MSK or self-managed Kafka with SASL/SCRAM; the secret is the one the event
 *   source mapping uses ({"username", "password"}), TLS.
 * - `mtls`: self-managed Kafka with client certificates; the secret is the event source mapping's
 *   ({"certificate", "privateKey", "privateKeyPassword"?}, PEM), TLS.
 */
export type KafkaAuth = 'none' | 'iam' | 'sasl-scram-512' | 'mtls';

export interface KafkaConnectionSettings {
  readonly auth: KafkaAuth;
  /** host:port list; empty when `mskClusterArn` names the cluster instead. */
  readonly brokers: readonly string[];
  readonly mskClusterArn: string | undefined;
  readonly authSecretArn: string | undefined;
  readonly region: string;
}

/**
 * A kafkajs client for the sweep. `readSecret` reads the credentials' secret (Secrets Manager
 * through Powertools, as for the database's; tests give a stand-in).
 */
export async function connectKafka(
  settings: KafkaConnectionSettings,
  clientId: string,
  readSecret: SecretReader = secretsManagerReader(settings.region),
): Promise<Kafka> {
  const brokers = settings.brokers.length > 0 ? [...settings.brokers] : await mskBrokers(settings);
  const secret =
    settings.auth === 'sasl-scram-512' || settings.auth === 'mtls'
      ? await credentials(settings, readSecret)
      : {};
  return new Kafka(kafkaConfig(settings, clientId, brokers, secret));
}

/** The kafkajs configuration for `settings.auth`, given the brokers and the credentials' secret. */
export function kafkaConfig(
  settings: KafkaConnectionSettings,
  clientId: string,
  brokers: readonly string[],
  secret: Record<string, unknown>,
): KafkaConfig {
  const config: KafkaConfig = {
    clientId,
    brokers: [...brokers],
    logLevel: logLevel.NOTHING,
    retry: { retries: 5 },
  };
  if (settings.auth === 'iam') {
    config.ssl = true;
    config.sasl = {
      mechanism: 'oauthbearer',
      // A fresh token per authentication: they expire after 15 minutes.
      oauthBearerProvider: async () => ({
        value: (await generateAuthToken({ region: settings.region })).token,
      }),
    };
  } else if (settings.auth === 'sasl-scram-512') {
    config.ssl = true;
    config.sasl = {
      mechanism: 'scram-sha-512',
      username: field(secret, 'username'),
      password: field(secret, 'password'),
    };
  } else if (settings.auth === 'mtls') {
    config.ssl = {
      cert: field(secret, 'certificate'),
      key: field(secret, 'privateKey'),
      ...(typeof secret.privateKeyPassword === 'string' ? { passphrase: secret.privateKeyPassword } : {}),
    };
  }
  return config;
}

/** MSK's bootstrap brokers for the chosen authentication (kafka:GetBootstrapBrokers). */
async function mskBrokers(settings: KafkaConnectionSettings): Promise<string[]> {
  if (settings.mskClusterArn === undefined) {
    throw new ConfigError('KAFKA_BROKERS or MSK_CLUSTER_ARN: the sweep needs one to reach the brokers');
  }
  const client = new KafkaClient({ region: settings.region });
  try {
    const out = await client.send(new GetBootstrapBrokersCommand({ ClusterArn: settings.mskClusterArn }));
    const list =
      settings.auth === 'iam'
        ? out.BootstrapBrokerStringSaslIam
        : settings.auth === 'sasl-scram-512'
          ? out.BootstrapBrokerStringSaslScram
          : out.BootstrapBrokerStringTls;
    if (list === undefined || list === '') {
      throw new ConfigError(`MSK_CLUSTER_ARN: the cluster has no brokers for KAFKA_AUTH=${settings.auth}`);
    }
    return list.split(',');
  } finally {
    client.destroy();
  }
}

async function credentials(
  settings: KafkaConnectionSettings,
  readSecret: SecretReader,
): Promise<Record<string, unknown>> {
  if (settings.authSecretArn === undefined) {
    throw new ConfigError(
      `KAFKA_AUTH_SECRET_ARN: KAFKA_AUTH=${settings.auth} needs the secret of the credentials`,
    );
  }
  return kafkaSecret(await readSecret(settings.authSecretArn, { fresh: false }), settings.auth);
}

/**
 * The Kafka credentials' secret as an object ({} for a secret without a SecretString: the fields
 * it lacks are then named by kafkaConfig). Never quotes the secret's text (parseJsonSecret).
 */
export function kafkaSecret(text: string | undefined, auth: KafkaAuth): Record<string, unknown> {
  if (text === undefined) return {};
  const shape =
    auth === 'mtls' ? '{"certificate", "privateKey", "privateKeyPassword"?}' : '{"username", "password"}';
  return parseJsonSecret(text, 'KAFKA_AUTH_SECRET_ARN', shape);
}

function field(secret: Record<string, unknown>, name: string): string {
  const value = secret[name];
  if (typeof value !== 'string' || value === '') {
    throw new ConfigError(`KAFKA_AUTH_SECRET_ARN: the secret has no "${name}"`);
  }
  return value;
}
