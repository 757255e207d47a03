/*
 * Key layout of the checkpoint table (hash key `pk` only; docs/STATE.md section 2). Kafka topic
 * names use only [a-zA-Z0-9._-], so '#' separates safely.
 */

export const META_KEY = 'meta';

export const partitionKey = (topic: string, partition: number): string => `p#${topic}#${partition}`;

/**
 * A piece of the state image written by the claim (version, epoch) of a partition. No two claims
 * share a key, so pieces are never overwritten (a zombie cannot clobber a committed image), and
 * the keys spread writes over as many DynamoDB partitions as there are transitions. `lineage`
 * changes when a partition item is created afresh, so a new item's versions never meet old pieces.
 */
export const pieceKey = (
  topic: string,
  partition: number,
  lineage: string,
  version: number,
  epoch: number,
  index: number,
): string => `s#${topic}#${partition}#${lineage}#${version}#${epoch}#${index}`;

/** Items of the earlier per-user layout (1): a table holding them is refused, not misread. */
export const legacyKeys = (topic: string): string[] => [`T#${topic}`, `P#${topic}#0`];
