import { describe, expect, it } from 'vitest';
import { generateBids, NEXMARK_BASE_TIME_MS } from '../../../scripts/bench/nexmark.ts';

// The nexmark tier's bid stream follows the Nexmark generator's rules (scripts/bench/nexmark.ts).
describe('the Nexmark bid stream', () => {
  it('keeps 46 of every 50 events as bids, stamped at the rate, in order, from the seed alone', () => {
    // Act
    const stream = generateBids({ events: 10_007, rate: 10_000, seed: 7 });
    const again = generateBids({ events: 10_007, rate: 10_000, seed: 7 });

    // Assess: 200 full cycles of 46 bids, then events 10,000-10,006 of which 10,004-10,006 are bids.
    expect(stream.bidder.length).toBe(200 * 46 + 3);
    expect(stream.values.length).toBe(stream.bidder.length);
    // Event n at floor(n / 10) ms: the first bid is event 4, the last event 10,006.
    expect(stream.dateTime[0]).toBe(NEXMARK_BASE_TIME_MS);
    expect(stream.dateTime.at(-1)).toBe(NEXMARK_BASE_TIME_MS + 1000);
    expect(stream.dateTime.every((t, i) => i === 0 || t >= (stream.dateTime[i - 1] as number))).toBe(true);
    expect(again.values).toEqual(stream.values);
    expect(generateBids({ events: 10_007, rate: 10_000, seed: 8 }).values).not.toEqual(stream.values);
  });

  it('gives three bids in four to the hot bidder, the rest to the 1,010 people around the latest', () => {
    // Act: 20,000 events, so 400 people; the latest batch of 100 people starts at person 300.
    const stream = generateBids({ events: 20_000, seed: 1 });

    // Assess
    const last = stream.bidder.length - 1;
    const tail = Array.from(stream.bidder.subarray(last - 4000, last));
    const hot = 300 + 1 + 2000;
    const share = tail.filter((b) => b === hot).length / tail.length;
    expect(share).toBeGreaterThan(0.7);
    expect(share).toBeLessThan(0.8);
    // Cold bidders: ids from FIRST_PERSON_ID twice (2,000) up to the latest person plus the lead.
    expect(Math.min(...stream.bidder)).toBeGreaterThanOrEqual(2000);
    expect(Math.max(...stream.bidder)).toBeLessThan(2000 + 400 + 10);
    const bid = JSON.parse(stream.values[last] as string);
    expect(bid).toMatchObject({
      bidder: String(stream.bidder[last]),
      dateTime: new Date(stream.dateTime[last] as number).toISOString(),
    });
    expect(Object.keys(bid)).toEqual(['auction', 'bidder', 'price', 'channel', 'url', 'dateTime', 'extra']);
    const sizes = stream.values.map((v) => (JSON.parse(v) as { extra: string }).extra.length);
    expect(Math.min(...sizes)).toBeGreaterThanOrEqual(68 - 14);
    expect(Math.max(...sizes)).toBeLessThan(68 + 14);
  });
});
