import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { initialPartitionState, nextDue, watermarkAfter } from '../../../lib/engine/index.ts';
import { streamArb } from '../../helpers/streams.ts';
import { engineConfig, eventRecords, foldOnce, partitionState, session, userState } from './factories.ts';

describe('initialPartitionState', () => {
  it('starts at offset 0 with the watermark at minus infinity', () => {
    // Act
    const state = initialPartitionState();

    // Assess
    expect(state).toEqual({
      nextOffset: 0,
      watermark: null,
      recordWatermark: null,
      maxEventTime: null,
      lastArrivalMs: null,
    });
  });
});

describe('watermarkAfter', () => {
  it('is null for a fresh partition and no records', () => {
    // Act
    const w = watermarkAfter(engineConfig(), initialPartitionState(), []);

    // Assess
    expect(w).toBeNull();
  });

  it('ignores records below nextOffset and never goes below the current watermark', () => {
    // Prepare
    const partition = partitionState({ nextOffset: 2, watermark: 3000, recordWatermark: 3000 });
    const records = eventRecords([
      ['user_A', 90_000],
      ['user_A', 80_000],
      ['user_A', 2000],
      ['user_A', 4500],
    ]);

    // Act
    const w = watermarkAfter(engineConfig({ outOfOrdernessMs: 1000 }), partition, records);

    // Assess
    expect(w).toBe(3499);
  });

  it('equals the watermark fold ends at', () => {
    fc.assert(
      fc.property(streamArb(), ({ config, records }) => {
        // Act
        const predicted = watermarkAfter(config, initialPartitionState(), records);

        // Assess
        expect(predicted).toBe(foldOnce(config, records).partition.watermark);
      }),
      { numRuns: 100 },
    );
  });
});

describe('nextDue', () => {
  it.each([
    { what: 'no sessions', sessions: [], expected: null },
    {
      what: 'only fired sessions kept for lateness',
      sessions: [session({ start: 1000, end: 6000, pending: false, emittedStarts: [1000] })],
      expected: null,
    },
    {
      what: 'a kept session before a pending one',
      sessions: [
        session({ start: 1000, end: 6000, pending: false, emittedStarts: [1000] }),
        session({ start: 7000, end: 12_000 }),
      ],
      expected: 11_999,
    },
    {
      what: 'two pending sessions',
      sessions: [session({ start: 1000, end: 6000 }), session({ start: 7000, end: 12_000 })],
      expected: 5999,
    },
  ])('with $what is $expected', ({ sessions, expected }) => {
    // Act
    const due = nextDue(userState('user_A', sessions));

    // Assess
    expect(due).toBe(expected);
  });
});
