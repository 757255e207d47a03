import { describe, expect, it } from 'vitest';
import {
  type ImageRef,
  type Manifest,
  nextManifest,
  planImage,
  snapshotStale,
} from '../../../lib/checkpoint/index.ts';

// docs/STATE.md section 2: a transition writes nothing, a delta or a snapshot. A snapshot when there
// is none, when the journal is full or outweighs it, or when it is half-way to its pieces' TTL
// (the same rule the sweep's refresh ticks use).

const DAY = 86_400_000;
const ref = (version: number, bytes: number, writtenAt = 0): ImageRef => ({
  version,
  epoch: version,
  pieces: 1,
  bytes,
  writtenAt,
  format: 2,
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
