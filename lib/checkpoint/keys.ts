import { createHash } from 'node:crypto';

/*
 * Key layout of the single checkpoint table (hash key `pk` only). Kafka topic names use only
 * [a-zA-Z0-9._-], so '#' separates safely; the user id comes last and may contain anything.
 * Every user has an item of its own, so writes spread over as many partition keys as there are
 * users instead of one hot key per Kafka partition.
 */
export const partitionKey = (topic: string, partition: number): string => `P#${topic}#${partition}`;

export const topicKey = (topic: string): string => `T#${topic}`;

export const userKey = (topic: string, partition: number, userId: string): string =>
  `U#${topic}#${partition}#${userId}`;

export function userIdFromKey(topic: string, partition: number, pk: string): string {
  const prefix = `U#${topic}#${partition}#`;
  if (!pk.startsWith(prefix)) throw new Error(`Not a user key of ${topic}-${partition}: ${pk}`);
  return pk.slice(prefix.length);
}

/**
 * The due index's hash key. Spreading one Kafka partition's users over `shards` index
 * partitions keeps the index free of a hot key; the due query reads all shards.
 */
export function dueShard(topic: string, partition: number, userId: string, shards: number): string {
  const bucket = createHash('md5').update(userId).digest().readUInt32BE(0) % shards;
  return `${topic}#${partition}#${bucket}`;
}

export const dueShards = (topic: string, partition: number, shards: number): string[] =>
  Array.from({ length: shards }, (_, bucket) => `${topic}#${partition}#${bucket}`);
