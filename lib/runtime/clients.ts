import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoCheckpointStore } from '../checkpoint/index.ts';
import type { Config } from '../config.ts';

/*
 * The clients both runtimes (lib/runtime.ts, lib/sweep-runtime.ts) build once per container. Kept
 * apart from them so that the sweep's bundle does not carry the PostgreSQL driver.
 */

export function dynamoClient(config: Config, env: NodeJS.ProcessEnv): DynamoDBClient {
  return new DynamoDBClient({
    region: config.region,
    maxAttempts: 3,
    ...(config.dynamodbEndpoint === undefined
      ? {}
      : {
          endpoint: config.dynamodbEndpoint,
          // DynamoDB Local accepts any credentials but the SDK insists on having some.
          credentials: {
            accessKeyId: env.AWS_ACCESS_KEY_ID ?? 'local',
            secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? 'local',
          },
        }),
  });
}

export function checkpointStore(config: Config, dynamo: DynamoDBClient): DynamoCheckpointStore {
  return new DynamoCheckpointStore(dynamo, {
    table: config.checkpointTable,
    stateTtlDays: config.stateTtlDays,
  });
}
