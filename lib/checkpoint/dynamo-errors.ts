import { ConditionalCheckFailedException, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { CheckpointConflictError, CheckpointUnavailableError, SessionizerError } from '../errors.ts';

/**
 * Maps a DynamoDB SDK error to the domain at the boundary, as Powertools' DynamoDBPersistenceLayer
 * does: a failed condition means another invocation claimed or committed the partition since we
 * read it (the item it left, when the call asked for it with ReturnValuesOnConditionCheckFailure,
 * rides along); everything else (network, throttling, 5xx) is worth a retry of the batch.
 */
export function mapDynamoError(error: unknown, what: string): SessionizerError {
  if (error instanceof SessionizerError) return error;
  if (error instanceof ConditionalCheckFailedException) {
    return new CheckpointConflictError(
      `${what}: another invocation changed the checkpoint (fenced off)`,
      error,
      error.Item === undefined ? undefined : unmarshall(error.Item),
    );
  }
  if (error instanceof ResourceNotFoundException) {
    return new CheckpointUnavailableError(
      `${what}: the checkpoint table does not exist (CHECKPOINT_TABLE; npm run services:up creates it locally, ` +
        'the stack on AWS): retried until it does',
      error,
    );
  }
  const name = (error as { name?: string }).name ?? '';
  const message = (error as Error).message ?? String(error);
  return new CheckpointUnavailableError(`${what}: DynamoDB call failed: ${name} ${message}`, error);
}
