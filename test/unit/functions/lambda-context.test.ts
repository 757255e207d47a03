import type { Context } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { mskEvent } from '../../helpers/pipeline.ts';

// Every log line of an invocation carries the Lambda context (Powertools Logger's context
// injection): the request id, the function name and whether the container was cold. The handlers
// are imported as Lambda loads them, with an environment whose stores fail fast, so that each
// invocation logs a line without any service running.

const context = (requestId: string, functionName: string): Context =>
  ({
    awsRequestId: requestId,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:111122223333:function:${functionName}`,
    memoryLimitInMB: '1024',
  }) as Context;

let lines: Record<string, unknown>[];

beforeEach(() => {
  lines = [];
  // Powertools Logger writes warnings and errors to stderr, the rest to stdout.
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (chunk: string | Uint8Array, ...rest: unknown[]) => boolean;
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
      const text = String(chunk);
      if (!text.startsWith('{"level"')) return write(chunk, ...rest);
      lines.push(JSON.parse(text) as Record<string, unknown>);
      return true;
    });
  }
  // Lambda sets it; Powertools reports a cold start only for on-demand initialisation.
  vi.stubEnv('AWS_LAMBDA_INITIALIZATION_TYPE', 'on-demand');
  // Nothing listens on port 1: DynamoDB calls fail at once.
  vi.stubEnv('DYNAMODB_ENDPOINT', 'http://127.0.0.1:1');
  vi.stubEnv('CHECKPOINT_TABLE', 'sessionizer-context-test');
  vi.stubEnv('LOG_LEVEL', 'warn');
  vi.resetModules();
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
  vi.doUnmock('../../../lib/sweep/index.ts');
});

describe('the Lambda context in every log line', () => {
  it('sessionize: request id, function name, and cold start only on the first invocation', async () => {
    // Prepare
    const { handler } = await import('../../../functions/sessionize.ts');

    // Act
    await expect(
      handler(mskEvent(['user_A,1000']), context('req-1', 'sessionizer-prod-sessionize')),
    ).rejects.toThrow();
    await expect(
      handler(mskEvent(['user_A,2000'], 1), context('req-2', 'sessionizer-prod-sessionize')),
    ).rejects.toThrow();

    // Assess
    const failures = lines.filter((l) => l.message === 'batch failed; the event source will retry it');
    expect(failures).toHaveLength(2);
    expect(failures[0]).toMatchObject({
      function_request_id: 'req-1',
      function_name: 'sessionizer-prod-sessionize',
      function_arn: 'arn:aws:lambda:us-east-1:111122223333:function:sessionizer-prod-sessionize',
      cold_start: true,
    });
    expect(failures[1]).toMatchObject({ function_request_id: 'req-2', cold_start: false });
  }, 30_000);

  it('sweep: a failed run is logged with its request id, then rethrown for Lambda to count', async () => {
    // Prepare: the ticker's broker lookup is not what this checks.
    vi.doMock('../../../lib/sweep/index.ts', async (importOriginal) => ({
      ...(await importOriginal<object>()),
      sweepTopic: async () => {
        throw new Error('brokers unreachable');
      },
    }));
    const { handler } = await import('../../../functions/sweep.ts');

    // Act
    const run = handler(undefined, context('req-9', 'sessionizer-prod-sweep'));

    // Assess
    await expect(run).rejects.toThrow('brokers unreachable');
    expect(lines.find((l) => l.message === 'sweep failed; the next run tries again')).toMatchObject({
      level: 'ERROR',
      error: 'brokers unreachable',
      function_request_id: 'req-9',
      function_name: 'sessionizer-prod-sweep',
      cold_start: true,
    });
  });
});
