import { DEFAULTS } from '../../lib/defaults.ts';

/** What the local services listen on, from the environment or the project defaults. */
export interface ServiceSettings {
  readonly kafkaBrokers: string[];
  readonly topic: string;
  readonly topicPartitions: number;
  readonly dynamodbEndpoint: string;
  readonly region: string;
  readonly checkpointTable: string;
  readonly databaseUrl: string;
}

export function serviceSettings(env: NodeJS.ProcessEnv = process.env): ServiceSettings {
  const partitions = Number(env.KAFKA_TOPIC_PARTITIONS ?? DEFAULTS.KAFKA_TOPIC_PARTITIONS);
  if (!Number.isInteger(partitions) || partitions < 1) {
    throw new Error(
      `KAFKA_TOPIC_PARTITIONS must be a whole number >= 1, got "${env.KAFKA_TOPIC_PARTITIONS}"`,
    );
  }
  return {
    kafkaBrokers: (env.KAFKA_BROKERS ?? DEFAULTS.KAFKA_BROKERS).split(',').map((b) => b.trim()),
    topic: env.KAFKA_TOPIC ?? DEFAULTS.KAFKA_TOPIC,
    topicPartitions: partitions,
    dynamodbEndpoint: env.DYNAMODB_ENDPOINT ?? DEFAULTS.DYNAMODB_ENDPOINT,
    region: env.AWS_REGION ?? DEFAULTS.AWS_REGION,
    checkpointTable: env.CHECKPOINT_TABLE ?? DEFAULTS.CHECKPOINT_TABLE,
    databaseUrl: env.DATABASE_URL ?? DEFAULTS.DATABASE_URL,
  };
}

/** host:port of a URL or broker address. */
export function hostPort(address: string): { host: string; port: number } {
  const url = address.includes('://') ? new URL(address) : new URL(`tcp://${address}`);
  return { host: url.hostname, port: Number(url.port) };
}
