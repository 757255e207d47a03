import { describe, expect, it } from 'vitest';
import { describeStart } from '../../../offline/reader.ts';

describe('describeStart (the trigger\'s "ready" line)', () => {
  it('names each assigned partition with the offset it starts from and its log end', () => {
    // Act
    const line = describeStart(
      [1, 0],
      [
        { partition: 0, offset: '3' },
        { partition: 1, offset: '0' },
      ],
      [
        { partition: 0, high: '5' },
        { partition: 1, high: '0' },
      ],
    );

    // Assess
    expect(line).toBe('partition 0 from offset 3 (log end 5), partition 1 from offset 0 (log end 0)');
  });

  it('says when a partition has no committed offset yet', () => {
    expect(describeStart([0], [{ partition: 0, offset: '-1' }], [{ partition: 0, high: '7' }])).toBe(
      'partition 0 from the beginning (no committed offset) (log end 7)',
    );
  });

  it('says when the member got no partition', () => {
    expect(describeStart([], [], [])).toBe('no partition assigned (more members than partitions)');
  });
});
