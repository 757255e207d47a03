import { CheckpointConflictError, CheckpointUnavailableError, SessionizerError } from '../errors.ts';

/**
 * Maps a DynamoDB SDK error to the domain at the boundary (like Powertools' persistence layer maps
 * ConditionalCheckFailedException): a failed condition means another invocation claimed or
 * committed the partition since we read it; everything else (network, throttling, 5xx, a missing
 * table) is worth a retry of the batch.
 */
export function mapDynamoError(error: unknown, what: string): SessionizerError {
  if (error instanceof SessionizerError) return error;
  const name = (error as { name?: string }).name ?? '';
  const message = (error as Error).message ?? String(error);
  if (name === 'ConditionalCheckFailedException') {
    return new CheckpointConflictError(
      `${what}: another invocation changed the checkpoint (fenced off)`,
      error,
    );
  }
  return new CheckpointUnavailableError(`${what}: DynamoDB call failed: ${name} ${message}`, error);
}
