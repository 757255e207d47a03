import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ImageRef,
  type Manifest,
  manifestExpiry,
  nextManifest,
  pieceExpiresAt,
  planImage,
  snapshotStale,
} from '../../../lib/checkpoint/index.ts';

// docs/STATE.md section 2: a transition writes nothing, a delta or a snapshot. A snapshot when there
// is none, when the journal is full or outweighs it, or when a piece it lists has less than
// STATE_TTL_DAYS and a day left (the same rule the sweep's refresh ticks use): so a checkpoint
// outlives its last commit by STATE_TTL_DAYS at least, whatever the setting was when it was written.

const DAY = 86_400_000;
const ref = (version: number, bytes: number, writtenAt = 0): ImageRef => ({
  version,
  epoch: version,
  pieces: 1,
  bytes,
  writtenAt,
  format: 2,
  expiresAt: pieceExpiresAt(writtenAt, 30),
});
const POLICY = { journalMax: 3, stateTtlDays: 30 };
const manifest = (snapshot: ImageRef | null, journal: ImageRef[] = []): Manifest => ({ snapshot, journal });

describe('planImage', () => {
  it.each([
    {
      what: 'no live user, nothing stored',
      m: manifest(null),
      changed: 1,
      live: 0,
      delta: 10,
      now: 0,
      plan: 'none',
    },
    {
      what: 'no live user left',
      m: manifest(ref(1, 100)),
      changed: 1,
      live: 0,
      delta: 10,
      now: 0,
      plan: 'empty',
    },
    { what: 'no snapshot yet', m: manifest(null), changed: 1, live: 1, delta: 10, now: 0, plan: 'snapshot' },
    {
      what: 'nothing changed',
      m: manifest(ref(1, 100)),
      changed: 0,
      live: 1,
      delta: 10,
      now: 0,
      plan: 'none',
    },
    {
      what: 'a small change',
      m: manifest(ref(1, 100)),
      changed: 1,
      live: 5,
      delta: 10,
      now: 0,
      plan: 'delta',
    },
    {
      what: 'a full journal',
      m: manifest(ref(1, 100), [ref(2, 1), ref(3, 1), ref(4, 1)]),
      changed: 1,
      live: 5,
      delta: 1,
      now: 0,
      plan: 'snapshot',
    },
    {
      what: 'deltas outweighing the snapshot',
      m: manifest(ref(1, 100), [ref(2, 60)]),
      changed: 1,
      live: 5,
      delta: 41,
      now: 0,
      plan: 'snapshot',
    },
    {
      what: 'a snapshot 15 days and 1 ms old',
      m: manifest(ref(1, 100)),
      changed: 0,
      live: 5,
      delta: 1,
      now: 15 * DAY + 1,
      plan: 'snapshot',
    },
    {
      what: 'a snapshot exactly 15 days old',
      m: manifest(ref(1, 100)),
      changed: 0,
      live: 5,
      delta: 1,
      now: 15 * DAY,
      plan: 'none',
    },
  ])('writes $plan for $what', ({ m, changed, live, delta, now, plan }) => {
    // Act & Assess
    expect(planImage(m, changed, live, () => delta, now, POLICY)).toBe(plan);
    expect(snapshotStale(m, now, POLICY.stateTtlDays)).toBe(now > 15 * DAY && m.snapshot !== null);
  });
});

describe('nextManifest', () => {
  it('keeps, empties, appends a delta to, or replaces the manifest', () => {
    // Prepare
    const m = manifest(ref(1, 100), [ref(2, 5)]);

    // Act & Assess
    expect(nextManifest(m, 'none', undefined)).toBe(m);
    expect(nextManifest(m, 'empty', undefined)).toEqual(manifest(null));
    expect(nextManifest(m, 'delta', ref(3, 6))).toEqual(manifest(ref(1, 100), [ref(2, 5), ref(3, 6)]));
    expect(nextManifest(m, 'snapshot', ref(3, 90))).toEqual(manifest(ref(3, 90)));
    expect(() => nextManifest(m, 'delta', undefined)).toThrow('a delta plan needs the image it wrote');
  });
});

describe('how long a checkpoint lives', () => {
  const TTL = 30;

  it('gives pieces STATE_TTL_DAYS and a half, and a day', () => {
    expect(pieceExpiresAt(0, TTL)).toBe(46 * 86_400);
  });

  it.each([
    {
      what: 'written under a smaller STATE_TTL_DAYS (10): rewritten at once, before they expire',
      r: { expiresAt: pieceExpiresAt(0, 10) },
      stale: true,
    },
    { what: 'written before expiries were recorded', r: { expiresAt: null }, stale: true },
    {
      what: 'written under a larger STATE_TTL_DAYS (90)',
      r: { expiresAt: pieceExpiresAt(0, 90) },
      stale: false,
    },
  ])('finds the snapshot stale when its pieces were $what', ({ r, stale }) => {
    // Prepare: a snapshot a day old, under STATE_TTL_DAYS 30.
    const m = manifest({ ...ref(1, 100), ...r });

    // Act & Assess
    expect(snapshotStale(m, DAY, TTL)).toBe(stale);
    expect(planImage(m, 0, 5, () => 1, DAY, POLICY)).toBe(stale ? 'snapshot' : 'none');
  });

  it('judges the journal too: its earliest piece', () => {
    // Prepare
    const m = manifest(ref(1, 100, 10 * DAY), [{ ...ref(2, 5, 11 * DAY), expiresAt: pieceExpiresAt(0, 10) }]);

    // Act & Assess
    expect(manifestExpiry(m)).toBe(pieceExpiresAt(0, 10) * 1000);
    expect(snapshotStale(m, 11 * DAY, TTL)).toBe(true);
  });

  it('leaves every listed piece more than STATE_TTL_DAYS after any commit, and after any sweep that sends no refresh tick', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 60 }),
        fc.array(
          fc.record({ after: fc.integer({ min: 0, max: 20 * DAY }), changed: fc.nat(3), bytes: fc.nat(50) }),
          {
            minLength: 1,
            maxLength: 40,
          },
        ),
        (ttl, transitions) => {
          // Prepare
          const policy = { journalMax: 5, stateTtlDays: ttl };
          let m = manifest(null);
          let now = 0;
          let version = 0;
          for (const { after, changed, bytes } of transitions) {
            now += after;
            // A sweep at this moment: a quiet partition gets a refresh tick unless its pieces last.
            const expiry = manifestExpiry(m);
            if (expiry !== null && !snapshotStale(m, now, ttl))
              expect(expiry - now).toBeGreaterThanOrEqual(ttl * DAY);

            // Act: a transition at `now`.
            const plan = planImage(m, changed, 1, () => bytes, now, policy);
            const written = { ...ref(++version, bytes + 10, now), expiresAt: pieceExpiresAt(now, ttl) };
            m = nextManifest(m, plan, plan === 'delta' || plan === 'snapshot' ? written : undefined);

            // Assess: a trigger paused now finds every piece for STATE_TTL_DAYS and a day.
            expect((manifestExpiry(m) ?? Number.POSITIVE_INFINITY) - now).toBeGreaterThanOrEqual(
              (ttl + 1) * DAY - 1000,
            );
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
