import { describe, expect, it } from 'vitest';
import { DefinitionError, normaliseSettings, normaliseTriggers } from '../../../offline/definition.ts';

const context = { service: 'sessionizer', stage: 'dev', region: 'us-east-1' };

describe('normaliseTriggers', () => {
  it('applies the event source mapping defaults to a bare msk event', () => {
    // Act
    const [t] = normaliseTriggers(
      'sessionize',
      [{ msk: { arn: 'arn:aws:kafka:x', topic: 'user_activity' } }],
      context,
    );

    // Assess
    expect(t).toEqual({
      functionKey: 'sessionize',
      eventSource: 'aws:kafka',
      eventSourceArn: 'arn:aws:kafka:x',
      topic: 'user_activity',
      consumerGroupId: 'sessionizer-dev-sessionize',
      batchSize: 100,
      maximumBatchingWindowMs: 500,
      startingPosition: 'TRIM_HORIZON',
      startingPositionTimestampMs: undefined,
      enabled: true,
      reportBatchItemFailures: false,
      filterPatterns: [],
    });
  });

  it('reads every setting of a kafka event, in the units AWS uses', () => {
    // Act
    const [t] = normaliseTriggers(
      'f',
      [
        { schedule: 'rate(1 minute)' },
        {
          kafka: {
            topic: 't',
            consumerGroupId: 'g',
            batchSize: 10_000,
            maximumBatchingWindow: 2,
            startingPosition: 'AT_TIMESTAMP',
            startingPositionTimestamp: 1_700_000_000,
            enabled: false,
            functionResponseTypes: ['ReportBatchItemFailures'],
          },
        },
      ],
      context,
    );

    // Assess
    expect(t).toMatchObject({
      eventSource: 'SelfManagedKafka',
      eventSourceArn: undefined,
      consumerGroupId: 'g',
      batchSize: 10_000,
      maximumBatchingWindowMs: 2000,
      startingPosition: 'AT_TIMESTAMP',
      startingPositionTimestampMs: 1_700_000_000_000,
      enabled: false,
      reportBatchItemFailures: true,
    });
  });

  it.each([
    [{ topic: '' }, /topic is required/],
    [{ topic: 't', batchSize: 10_001 }, /batchSize/],
    [{ topic: 't', startingPosition: 'EARLIEST' }, /startingPosition/],
    [{ topic: 't', startingPosition: 'AT_TIMESTAMP' }, /startingPositionTimestamp/],
  ])('refuses %j', (msk, message) => {
    expect(() => normaliseTriggers('f', [{ msk }], context)).toThrow(DefinitionError);
    expect(() => normaliseTriggers('f', [{ msk }], context)).toThrow(message);
  });
});

describe('normaliseSettings', () => {
  it('takes brokers, schedules, retry and environment from custom.offline', () => {
    // Act
    const s = normaliseSettings({
      kafka: { brokers: 'a:1, b:2', retryInitialMs: '50', stall: '2:30000,0:5' },
      schedules: { sweep: '5', other: 0 },
      environment: { IDLE_FLUSH: 'false' },
    });

    // Assess
    expect(s).toEqual({
      brokers: ['a:1', 'b:2'],
      schedules: { sweep: 5, other: 0 },
      retryInitialMs: 50,
      retryMaxMs: 5000,
      captureDir: undefined,
      fetchStallMs: 90_000,
      environment: { IDLE_FLUSH: 'false' },
      stallMs: new Map([
        [2, 30_000],
        [0, 5],
      ]),
    });
  });

  it.each(['2', '2:', 'x:5', '2:-1'])('refuses a stall of %j', (stall) => {
    expect(() => normaliseSettings({ kafka: { stall } })).toThrow(DefinitionError);
  });

  it('falls back to KAFKA_BROKERS', () => {
    expect(normaliseSettings(undefined, { KAFKA_BROKERS: 'h:9' }).brokers).toEqual(['h:9']);
  });
});
