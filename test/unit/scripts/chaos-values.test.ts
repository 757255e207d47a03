import { describe, expect, it } from 'vitest';
import { BAD_TEXTS, BAD_VALUES, badKey, badPartition } from '../../../scripts/chaos/values.ts';

// The chaos producer's bad records keep the rule the job requires of every producer (docs/DESIGN.md,
// "Produce keyed by user id"): a bad value that Kafka-time mode reads as an event of a user goes to
// that user's one partition. Sent to random partitions, two `user_x` values stamped in the same
// millisecond opened two sessions with one key (CI, seed 184443), and their rows collided.

describe('the chaos producer’s bad values', () => {
  it('are keyed by the user Kafka-time mode reads them as, or by their own text', () => {
    // Act
    const keys = Object.fromEntries(BAD_TEXTS.map((text) => [text, badKey(text)]));

    // Assess
    expect(keys).toEqual({
      garbage: 'garbage',
      'user_x,not-a-number': 'user_x',
      ',1000': ',1000',
      'user_x,1,2': 'user_x,1,2',
      '{"userId": 1}': '{"userId": 1}',
      'user_x,-5': 'user_x',
    });
  });

  it.each([1, 2, 3, 4, 7])('that become one user go to one of %i partitions', (partitions) => {
    // Prepare
    const byUser = new Map<string, Set<number>>();

    // Act
    for (const text of BAD_TEXTS) {
      const outcome = BAD_VALUES[text]?.kafka;
      if (outcome === undefined || !('userId' in outcome)) continue;
      const partitionsOfUser = byUser.get(outcome.userId) ?? new Set<number>();
      partitionsOfUser.add(badPartition(text, partitions));
      byUser.set(outcome.userId, partitionsOfUser);
    }

    // Assess
    expect([...byUser.keys()].sort()).toEqual(['garbage', 'user_x']);
    for (const partitionsOfUser of byUser.values()) {
      expect(partitionsOfUser.size).toBe(1);
      const [partition] = partitionsOfUser;
      expect(partition).toBeGreaterThanOrEqual(0);
      expect(partition).toBeLessThan(partitions);
    }
  });
});
