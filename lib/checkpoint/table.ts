import {
  CreateTableCommand,
  type CreateTableCommandInput,
  type DynamoDBClient,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { TTL_ATTRIBUTE } from './constants.ts';

/**
 * The checkpoint table (docs/STATE.md section 2): hash key `pk` only, no index (a container holds
 * its partitions' whole state, so nothing needs a due-session index), TTL on `expiresAt` so that
 * superseded state pieces go away for free. serverless.yml declares the same.
 */
export function checkpointTableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
  };
}

/** Creates the table (and enables TTL) when missing; waits until it is ACTIVE. Idempotent. */
export async function ensureCheckpointTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(new CreateTableCommand(checkpointTableDefinition(tableName)));
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  await waitUntilTableExists({ client, maxWaitTime: 60, minDelay: 1, maxDelay: 2 }, { TableName: tableName });
  await client
    .send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
      }),
    )
    .catch((error: unknown) => {
      // Enabling TTL twice is refused with "TimeToLive is already enabled"; that is the goal.
      if (!(error instanceof Error && /already enabled/i.test(error.message))) throw error;
    });
}

export { TTL_ATTRIBUTE };
