import type { Admin } from 'kafkajs';
import { KafkaJSProtocolError } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { createTopicsAndWait } from '../../../scripts/services/kafka.ts';

/** An admin whose metadata answers come from `answers` in turn (an Error is thrown). */
function fakeAdmin(created: boolean, answers: (Error | { partitions: number[] })[]) {
  const calls: { fetch: number; createOptions: unknown[] } = { fetch: 0, createOptions: [] };
  const admin = {
    createTopics: async (options: unknown) => {
      calls.createOptions.push(options);
      return created;
    },
    fetchTopicMetadata: async () => {
      const answer = answers[Math.min(calls.fetch++, answers.length - 1)] as Error | { partitions: number[] };
      if (answer instanceof Error) throw answer;
      return {
        topics: [
          { name: 't', partitions: answer.partitions.map((leader, i) => ({ partitionId: i, leader })) },
        ],
      };
    },
  } as unknown as Admin;
  return { admin, calls };
}

/** kafkajs builds its protocol errors from the code's entry (its typings name only Error | string). */
const unknownTopic = () =>
  new KafkaJSProtocolError({
    type: 'UNKNOWN_TOPIC_OR_PARTITION',
    code: 3,
    retriable: true,
    message: 'This server does not host this topic-partition',
  } as unknown as Error);

describe('createTopicsAndWait', () => {
  it('waits out a broker that does not know the new topic yet, then a partition without a leader', async () => {
    // Prepare: what a loaded KRaft broker answers right after CreateTopics.
    const { admin, calls } = fakeAdmin(true, [
      unknownTopic(),
      unknownTopic(),
      { partitions: [0, -1] },
      { partitions: [0, 0] },
    ]);

    // Act
    const created = await createTopicsAndWait(admin, [{ topic: 't', numPartitions: 2 }]);

    // Assess
    expect(created).toBe(true);
    expect(calls.fetch).toBe(4);
    // kafkajs's own wait gives up on UNKNOWN_TOPIC_OR_PARTITION (CI, 2026-12-04): it must be off.
    expect(calls.createOptions).toEqual([
      { topics: [{ topic: 't', numPartitions: 2 }], waitForLeaders: false },
    ]);
  });

  it('says false for a topic that was there, once its partitions have leaders, however many it has', async () => {
    // Prepare: auto-created by a client with one partition (scripts/job/reset.ts adds the others).
    const { admin, calls } = fakeAdmin(false, [{ partitions: [0] }]);

    // Act
    const created = await createTopicsAndWait(admin, [{ topic: 't', numPartitions: 3 }]);

    // Assess
    expect(created).toBe(false);
    expect(calls.fetch).toBe(1);
  });
});
