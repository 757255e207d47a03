import { readFileSync } from 'node:fs';
import type { KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import type { TriggerDefinition } from '../../../offline/definition.ts';
import { buildEvent, toKafkaRecord } from '../../../offline/event.ts';
import { lowestFailure } from '../../../offline/reader.ts';

const trigger: TriggerDefinition = {
  functionKey: 'sessionize',
  eventSource: 'aws:kafka',
  eventSourceArn:
    'arn:aws:kafka:us-east-1:123456789012:cluster/vpc-2priv-2pub/751d2973-a626-431c-9d4e-d7975eb44dd7-2',
  topic: 'mytopic',
  consumerGroupId: 'g',
  batchSize: 100,
  maximumBatchingWindowMs: 500,
  startingPosition: 'TRIM_HORIZON',
  startingPositionTimestampMs: undefined,
  enabled: true,
  reportBatchItemFailures: false,
  filterPatterns: [],
};

const message = (offset: number, value: string, extra: Partial<KafkaMessage> = {}): KafkaMessage =>
  ({
    key: null,
    value: Buffer.from(value),
    timestamp: '1545084650987',
    attributes: 0,
    offset: String(offset),
    headers: {},
    ...extra,
  }) as KafkaMessage;

describe('buildEvent from kafkajs messages', () => {
  it('gives byte for byte the AWS sample event for the sample record', () => {
    // Prepare
    const sample = JSON.parse(readFileSync('test/fixtures/msk-event-aws-sample.json', 'utf8'));
    const m = message(15, 'Hello, this is a test.', {
      key: Buffer.from('abcDEFghiJKLmnoPQRstuVWXyz1234==', 'base64'),
      headers: { headerKey: Buffer.from('headerValue') },
    });

    // Act
    const event = buildEvent(trigger, sample.bootstrapServers.split(','), [toKafkaRecord('mytopic', 0, m)]);

    // Assess: the sample's key "...1234==" is not canonical base64 (its last character carries
    // bits that decoding drops), so no real record encodes to it; compare with its canonical form.
    const record = sample.records['mytopic-0'][0];
    record.key = Buffer.from(record.key, 'base64').toString('base64');
    expect(JSON.stringify(event)).toBe(JSON.stringify(sample));
  });

  it('keeps repeated headers apart, signs bytes, and reads LOG_APPEND_TIME from the attributes', () => {
    const r = toKafkaRecord(
      't',
      1,
      message(3, 'x', { attributes: 0x08, headers: { h: [Buffer.from([0xff]), Buffer.from('a')] } }),
    );
    expect(r.timestampType).toBe('LOG_APPEND_TIME');
    expect(buildEvent(trigger, ['b:1'], [r]).records['t-1']?.[0]?.headers).toEqual([
      { h: [-1] },
      { h: [97] },
    ]);
  });
});

describe('lowestFailure', () => {
  it('finds the lowest reported offset of the partition', () => {
    const result = {
      batchItemFailures: [
        { itemIdentifier: { partition: 't-0', offset: 7 } },
        { itemIdentifier: { partition: 't-0', offset: 5 } },
        { itemIdentifier: { partition: 't-1', offset: 1 } },
      ],
    };
    expect(lowestFailure(result, 't', 0)).toBe(5);
    expect(lowestFailure({ batchItemFailures: [] }, 't', 0)).toBeUndefined();
  });
});
