import {
  ConditionalCheckFailedException,
  ProvisionedThroughputExceededException,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, it } from 'vitest';
import { mapDynamoError } from '../../../lib/checkpoint/index.ts';
import {
  CheckpointConflictError,
  CheckpointLostError,
  CheckpointUnavailableError,
} from '../../../lib/errors.ts';

// The boundary between the SDK and the domain (docs/STATE.md section 5): a refused condition is a
// lost race (retried, with the winner's item when DynamoDB returned it); anything else is worth a
// retry of the batch; our own errors pass through unchanged. A misclassification would either
// retry a partition for ever or stop it.

const meta = { $metadata: {} };

describe('mapDynamoError', () => {
  it('maps a refused condition to CheckpointConflictError, with the returned item unmarshalled', () => {
    // Prepare
    const refused = new ConditionalCheckFailedException({
      ...meta,
      message: 'The conditional request failed',
      Item: marshall({ pk: 'p#t#0', epoch: 7 }),
    });

    // Act
    const mapped = mapDynamoError(refused, 'claim t-0');

    // Assess
    expect(mapped).toBeInstanceOf(CheckpointConflictError);
    expect(mapped).toMatchObject({ retryable: true, current: { pk: 'p#t#0', epoch: 7 } });
    expect(mapped.message).toBe('claim t-0: another invocation changed the checkpoint (fenced off)');
  });

  it.each([
    {
      what: 'a missing table',
      error: new ResourceNotFoundException({ ...meta, message: 'Requested resource not found' }),
      says: 'the checkpoint table does not exist',
    },
    {
      what: 'throttling',
      error: new ProvisionedThroughputExceededException({ ...meta, message: 'slow down' }),
      says: 'DynamoDB call failed: ProvisionedThroughputExceededException slow down',
    },
    {
      what: 'a network error',
      error: Object.assign(new Error('connect ECONNREFUSED'), { name: 'Error' }),
      says: 'ECONNREFUSED',
    },
  ])('maps $what to a retryable CheckpointUnavailableError', ({ error, says }) => {
    // Act
    const mapped = mapDynamoError(error, 'read t-0');

    // Assess
    expect(mapped).toBeInstanceOf(CheckpointUnavailableError);
    expect(mapped.retryable).toBe(true);
    expect(mapped.message).toContain(says);
    expect(mapped.cause).toBe(error);
  });

  it('passes the domain errors through as they are', () => {
    // Prepare
    const lost = new CheckpointLostError('gone');

    // Act & Assess
    expect(mapDynamoError(lost, 'x')).toBe(lost);
  });
});
