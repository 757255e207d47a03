export type { KafkaConnectionSettings } from './kafka-connection.ts';
export { connectKafka, kafkaConfig, kafkaSecret } from './kafka-connection.ts';
export { type SweepDeps, type SweepOutcome, type SweepState, sweepTopic, tickNeeded } from './sweep.ts';
export type { Ticker, TickKind } from './ticker.ts';
export { KafkaTicker, partitionCountMessage, topicPartitions } from './ticker.ts';
