/**
 * Whether the local job starts from a clean slate: no partition of its topic has a checkpoint
 * yet. The reference lab's events are from 1970, so once a partition has a watermark (after any
 * event, or the idle flush), typing them again makes them late; `npm run reset` starts afresh.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { readPartitionSummaries } from '../../lib/checkpoint/index.ts';
import { formatWatermark } from './status.ts';

/** Why the slate is not clean, one line per partition the checkpoint has seen; empty when it is. */
export async function usedPartitions(
  dynamo: DynamoDBClient,
  table: string,
  topic: string,
  partitions: readonly number[],
): Promise<string[]> {
  const summaries = await readPartitionSummaries(dynamo, table, topic, partitions);
  return summaries
    .filter((s) => s.version > 0)
    .map(
      (s) =>
        `partition ${s.partition}: offsets below ${s.nextOffset} applied, watermark ${formatWatermark(s.watermark)}`,
    );
}

export const RESET_HINT = 'stop the job (Ctrl-C where npm start runs), npm run reset, npm start.';
