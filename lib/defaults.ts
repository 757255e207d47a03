/**
 * Default endpoints and names, shared by the job's configuration and the local service scripts
 * so a laptop needs no settings at all. Every one can be overridden by the environment variable
 * of the same name (see README, "Configuration").
 */
export const DEFAULTS = {
  KAFKA_BROKERS: '127.0.0.1:9092',
  KAFKA_TOPIC: 'user_activity',
  KAFKA_TOPIC_PARTITIONS: 1,
  /** The local job's consumer group: serverless.yml `consumerGroupId` of the dev stage. */
  KAFKA_CONSUMER_GROUP: 'sessionizer-dev',
  DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000',
  AWS_REGION: 'us-east-1',
  CHECKPOINT_TABLE: 'sessionizer-checkpoints',
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/flink_db',
  /** Offline only: the sweep every 2 s instead of its rate(1 minute) (serverless.yml custom.offline). */
  OFFLINE_SWEEP_INTERVAL_SECONDS: 2,
} as const;
