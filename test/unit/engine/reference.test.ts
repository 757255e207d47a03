import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { referenceSessions, splitSessionDetails, splitSessions } from '../../../reference/sessions.ts';
import { inOrderStreamArb } from '../../helpers/streams.ts';
import { engineConfig, eventRecords, PartitionRun } from './factories.ts';

// The two reference models (test/helpers/reference.ts) checked against each other and against the
// worked example, so a disagreement with the engine points at the engine.

describe('referenceSessions', () => {
  it('reproduces the worked example of docs/DESIGN.md section 3', () => {
    // Prepare
    const records = eventRecords([
      ['user_A', 1000],
      ['user_A', 2000],
      ['user_A', 8000],
    ]);

    // Act
    const { rows, sessions, lateOffsets } = referenceSessions(engineConfig(), records);

    // Assess
    expect(rows).toEqual(new Map([['user_A|1970-01-01T00:00:01.000Z', { count: 2, end: 7000 }]]));
    expect(sessions).toEqual(
      new Map([
        [
          'user_A|1970-01-01T00:00:01.000Z',
          { userId: 'user_A', start: 1000, last: 2000, end: 7000, count: 2, durationMs: 1000 },
        ],
      ]),
    );
    expect(lateOffsets).toEqual([]);
  });

  it('agrees with splitting each user’s sorted events at gaps > G, for in-order input', () => {
    fc.assert(
      fc.property(inOrderStreamArb, ({ config, records }) => {
        // Act
        const simulated = referenceSessions(config, records, { flushTo: 1_000_000 });
        const split = splitSessions(config, records);

        // Assess
        expect(simulated.lateOffsets).toEqual([]);
        expect(simulated.rows).toEqual(split);
        expect(simulated.sessions).toEqual(splitSessionDetails(config, records));
      }),
      { numRuns: 300 },
    );
  });
});

describe('the engine on in-order input', () => {
  it('agrees with splitting each user’s sorted events at gaps > G', () => {
    fc.assert(
      fc.property(inOrderStreamArb, ({ config, records }) => {
        // Prepare
        const run = new PartitionRun(config);

        // Act
        const folded = run.fold(records);
        run.flush();

        // Assess
        expect(folded.late).toEqual([]);
        expect(run.rows()).toEqual(splitSessions(config, records));
      }),
      { numRuns: 300 },
    );
  });
});
