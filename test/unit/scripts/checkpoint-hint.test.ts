import { describe, expect, it } from 'vitest';
import { endpointHint } from '../../../scripts/checkpoint/endpoint-hint.ts';

const NO_CREDENTIALS =
  'read the table meta item: DynamoDB call failed: CredentialsProviderError Could not load credentials from any providers';

describe('endpointHint', () => {
  it('points a laptop without AWS credentials at DynamoDB Local', () => {
    // Act
    const hint = endpointHint(NO_CREDENTIALS, {});

    // Assess
    expect(hint).toContain('DYNAMODB_ENDPOINT=http://127.0.0.1:8000 npm run checkpoint');
  });

  it('says nothing when an endpoint is set or the failure is another one', () => {
    // Act
    const withEndpoint = endpointHint(NO_CREDENTIALS, { DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000' });
    const other = endpointHint('read the table meta item: the checkpoint table does not exist', {});

    // Assess
    expect(withEndpoint).toBeUndefined();
    expect(other).toBeUndefined();
  });
});
