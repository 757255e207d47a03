import fc from 'fast-check';
import { type EngineConfig, type EventRecord, isTick, type LogRecord } from '../../lib/engine/index.ts';

/**
 * fast-check generators of one partition's record stream, shaped to hit the edges of
 * docs/DESIGN.md section 3: consecutive events of a user exactly G, G - 1 and G + 1 apart,
 * duplicates, disorder within and beyond B (late events), bridges between sessions, several users
 * whose clocks drift; and idle ticks (section 4) anywhere, stamped by clocks that have nothing to
 * do with the events': Kafka timestamps of producers whose clocks lag, lead, jump and go backwards,
 * ticks from the past and the far future. Gaps are small (a few ms) so that edges are hit often.
 */

export interface StreamCase {
  readonly config: EngineConfig;
  /** Events and idle ticks in offset order; every record has a Kafka timestamp. */
  readonly records: LogRecord[];
}

/** The idle flush: on (the default) three times in four. */
const idleArb: fc.Arbitrary<boolean> = fc.oneof(
  { weight: 3, arbitrary: fc.constant(true) },
  { weight: 1, arbitrary: fc.constant(false) },
);

const USERS = ['user_A', 'user_B', 'user_C'] as const;

/** Any configuration: B and L from 0 (weighted) to a few gaps, with the G edges. */
export const configArb: fc.Arbitrary<EngineConfig> = fc.integer({ min: 1, max: 6 }).chain((gapMs) =>
  fc.record({
    gapMs: fc.constant(gapMs),
    outOfOrdernessMs: fc.oneof(
      fc.constant(0),
      fc.constantFrom(1, gapMs - 1, gapMs, gapMs + 1),
      fc.integer({ min: 0, max: 3 * gapMs }),
    ),
    allowedLatenessMs: fc.oneof(
      { weight: 2, arbitrary: fc.constant(0) },
      { weight: 1, arbitrary: fc.constantFrom(1, gapMs) },
      { weight: 2, arbitrary: fc.integer({ min: 0, max: 6 * gapMs }) },
    ),
    idleFlush: idleArb,
  }),
);

/**
 * Biased towards rule 7: B of 0 or 1 and an allowed lateness of one to six gaps, so stragglers
 * often join fired sessions, move their start or bridge them (rare under configArb).
 */
export const latenessConfigArb: fc.Arbitrary<EngineConfig> = fc.integer({ min: 1, max: 6 }).chain((gapMs) =>
  fc.record({
    gapMs: fc.constant(gapMs),
    outOfOrdernessMs: fc.integer({ min: 0, max: 1 }),
    allowedLatenessMs: fc.integer({ min: gapMs, max: 6 * gapMs }),
    idleFlush: idleArb,
  }),
);

/**
 * Where an event lies: relative to its user's clock (`own`), to the latest event time so far
 * (`latest`: the user's clock catches up, so clocks do not drift apart for good), just before the
 * user's previous event (`previous`: with L > 0, often a join that moves a fired session's start),
 * or a byte-identical repeat of the previous event (`duplicate`: two records, two events).
 */
type Anchor = 'own' | 'latest' | 'previous' | 'duplicate';

interface Step {
  readonly user: number;
  readonly anchor: Anchor;
  readonly advance: number;
  readonly back: number;
  /** An idle tick instead of an event. */
  readonly tick: boolean;
  /**
   * The record's Kafka timestamp against the events' clock: the producer's (or the sweep's) clock
   * skew, a jump, or a time from anywhere (a forged or far-future tick, a replay of history).
   */
  readonly stamp: number;
}

function stepArb(gapMs: number, users: number): fc.Arbitrary<Step> {
  return fc.record({
    user: fc.integer({ min: 0, max: users - 1 }),
    anchor: fc.constantFrom<Anchor>('own', 'latest', 'previous', 'duplicate'),
    // How far the clock moves: the gap edges, a little, or a lot.
    advance: fc.oneof(
      fc.constantFrom(0, gapMs - 1, gapMs, gapMs + 1),
      fc.integer({ min: 0, max: 2 * gapMs + 2 }),
    ),
    // Disorder: how far the event lies behind its anchor (within B or beyond it).
    back: fc.oneof(
      { weight: 3, arbitrary: fc.constant(0) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: gapMs + 1 }) },
      { weight: 1, arbitrary: fc.integer({ min: gapMs, max: 2 * gapMs + 1 }) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 4 * gapMs }) },
    ),
    tick: fc.oneof({ weight: 5, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    stamp: fc.oneof(
      fc.integer({ min: -4 * gapMs, max: 4 * gapMs }),
      fc.constantFrom(-1_000_000, 1_000_000, 8_640_000_000_000_000, -1),
    ),
  });
}

function toRecords(steps: readonly Step[]): LogRecord[] {
  const clocks = USERS.map(() => 20);
  const previous = new Map<number, number>();
  let latest = 20;
  return steps.map((step, offset): LogRecord => {
    // Kafka timestamps follow no rule: the fold must not care (docs/DESIGN.md section 4).
    const timestamp = step.stamp === -1 ? -1 : latest + step.stamp;
    if (step.tick) return { offset, tick: true, timestamp };
    const last = previous.get(step.user);
    let eventTime: number;
    if (step.anchor === 'duplicate' && last !== undefined) {
      eventTime = last;
    } else if (step.anchor === 'previous' && last !== undefined) {
      eventTime = Math.max(0, last - 1 - step.back);
    } else {
      const own = clocks[step.user] as number;
      const clock = (step.anchor === 'latest' ? Math.max(own, latest) : own) + step.advance;
      clocks[step.user] = clock;
      eventTime = Math.max(0, clock - step.back);
    }
    previous.set(step.user, eventTime);
    latest = Math.max(latest, eventTime);
    return { offset, userId: USERS[step.user] as string, eventTime, timestamp };
  });
}

/** A stream of up to 40 records of up to three users, under a configuration from `config`. */
export function streamArb(
  config: fc.Arbitrary<EngineConfig> = configArb,
  users: number = USERS.length,
): fc.Arbitrary<StreamCase> {
  return config.chain((c) =>
    fc
      .array(stepArb(c.gapMs, Math.min(users, USERS.length)), { maxLength: 40 })
      .map((steps) => ({ config: c, records: toRecords(steps) })),
  );
}

/**
 * In-order input: records sorted by event time with B >= 1, so no event can be late and no session
 * fires before every event within G of its last one has arrived (see splitSessions).
 */
export const inOrderStreamArb: fc.Arbitrary<StreamCase> = streamArb(
  configArb.map((config) => ({ ...config, outOfOrdernessMs: Math.max(1, config.outOfOrdernessMs) })),
).map(({ config, records }) => {
  const events = records.filter((r): r is EventRecord => !isTick(r));
  const sorted = [...events].sort((a, b) => a.eventTime - b.eventTime);
  return {
    config: { ...config, idleFlush: false },
    records: sorted.map((r, offset) => ({ ...r, offset })),
  };
});

/** Where to cut a stream of n records into consecutive batches (sorted, distinct, inside 1..n-1). */
export function cutsArb(n: number): fc.Arbitrary<number[]> {
  if (n < 2) return fc.constant([]);
  return fc
    .uniqueArray(fc.integer({ min: 1, max: n - 1 }), { maxLength: Math.min(n - 1, 8) })
    .map((cuts) => cuts.sort((a, b) => a - b));
}
