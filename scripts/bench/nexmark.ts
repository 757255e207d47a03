/**
 * The Nexmark bid stream, for the nexmark tier (query 11, user sessions: the bids of each bidder
 * in session windows with a 10 s gap). A port of the rules of the Nexmark generator that Flink's
 * Nexmark suite runs (nexmark-flink's NexmarkGenerator, GeneratorConfig, BidGenerator,
 * PersonGenerator, AuctionGenerator, PriceGenerator, StringsGenerator), with its defaults:
 *
 * - events are numbered from 0; of every 50, 1 is a person, 3 are auctions and 46 are bids
 *   (event n is a bid when n % 50 >= 4); query 11 reads the bids, so only they are made;
 * - event n is stamped baseTime + floor(n * 1,000,000 / rate) / 1000 ms (floor(n * delay us) /
 *   1000 with delay = 10^6 / rate), in order (outOfOrderGroupSize 1): no event is late;
 * - a bid's bidder is the hot bidder with probability 3/4 (hotBiddersRatio 4): the second person
 *   of the latest batch of 100 people; otherwise a random one of the 1,000 most recent people
 *   (numActivePeople) or of the 10 to come (PERSON_ID_LEAD). FIRST_PERSON_ID (1,000) is added
 *   twice, as BidGenerator.nextBid does. Its auction: the first of the latest 100 auctions with
 *   probability 1/2 (hotAuctionRatio 2), else a random one of the auctions in flight;
 * - `bidder` as text (the job's user id is a string: docs/DESIGN.md section 2), where Nexmark
 *   has a BIGINT;
 * - price round(10^(6u) * 100) for u uniform in [0, 1); channel one of four hot ones half the time,
 *   else one of 10,000; `extra` pads the bid to an average of 100 bytes (avgBidByteSize).
 *
 * The draws come from the bench's seeded generator (stream.ts), not Java's SplittableRandom: the
 * same distributions, not the same bids. The rate is a parameter: the generator's own default is
 * 10,000 events/s (NexmarkConfiguration.firstEventRate), at which a bidder's session lasts a few
 * seconds and closes 10 s after; the Flink suite runs it at 10,000,000, where 1,000,000 events span
 * 100 ms of event time and no session closes before the end of the input.
 */
import { random, STREAM_EPOCH_MS } from './stream.ts';

/** Of every TOTAL_PROPORTION events, PERSONS are people, then AUCTIONS auctions, the rest bids. */
const PERSONS = 1;
const AUCTIONS = 3;
const TOTAL_PROPORTION = 50;
const FIRST_PERSON_ID = 1000;
const FIRST_AUCTION_ID = 1000;
const HOT_BIDDER_RATIO = 100;
const HOT_AUCTION_RATIO = 100;
const HOT_BIDDERS_RATIO = 4;
const HOT_AUCTIONS_RATIO = 2;
const NUM_ACTIVE_PEOPLE = 1000;
const PERSON_ID_LEAD = 10;
const NUM_IN_FLIGHT_AUCTIONS = 100;
const AUCTION_ID_LEAD = 10;
const HOT_CHANNELS = ['Google', 'Facebook', 'Baidu', 'Apple'] as const;
const CHANNELS = 10_000;
/**
 * `extra` (StringsGenerator.nextExtra): avgBidByteSize (100) less the bid's four longs (32 bytes),
 * give or take a fifth.
 */
const EXTRA_BYTES = 100 - 32;
const EXTRA_SPREAD = Math.round(EXTRA_BYTES * 0.2);

/** The generator's rate: events per second of event time (Nexmark's default firstEventRate). */
export const NEXMARK_DEFAULT_RATE = 10_000;
/** Query 11's session gap. */
export const NEXMARK_Q11_GAP_MS = 10_000;
/** Event times start here (2023-11-14, as the bench's other streams). */
export const NEXMARK_BASE_TIME_MS = STREAM_EPOCH_MS;

export interface BidStream {
  /** Nexmark events the bids were drawn from (people and auctions included). */
  readonly events: number;
  readonly rate: number;
  /** Per bid, in event order: the bidder's id, the event time (ms), and the JSON value sent. */
  readonly bidder: Float64Array;
  readonly dateTime: Float64Array;
  readonly values: readonly string[];
}

/** The latest person (0-based) made before bid event `n` (PersonGenerator.lastBase0PersonId). */
const lastPerson = (n: number): number => Math.floor(n / TOTAL_PROPORTION) * PERSONS + PERSONS - 1;

/** The latest auction (0-based) made before bid event `n` (AuctionGenerator.lastBase0AuctionId). */
const lastAuction = (n: number): number => Math.floor(n / TOTAL_PROPORTION) * AUCTIONS + AUCTIONS - 1;

/** Bids of the first `events` Nexmark events at `rate` events/s, from `seed`. */
export function generateBids(options: { events: number; rate?: number; seed: number }): BidStream {
  const { events, seed } = options;
  const rate = options.rate ?? NEXMARK_DEFAULT_RATE;
  const next = random(seed);
  const below = (n: number) => Math.floor(next() * n);
  const bids =
    Math.floor(events / TOTAL_PROPORTION) * (TOTAL_PROPORTION - PERSONS - AUCTIONS) +
    Math.max(0, (events % TOTAL_PROPORTION) - PERSONS - AUCTIONS);
  const bidder = new Float64Array(bids);
  const dateTime = new Float64Array(bids);
  const values: string[] = [];
  const delayUs = 1_000_000 / rate;
  let b = 0;
  for (let n = 0; n < events; n++) {
    if (n % TOTAL_PROPORTION < PERSONS + AUCTIONS) continue;
    const time = NEXMARK_BASE_TIME_MS + Math.floor(Math.floor(n * delayUs) / 1000);
    const latest = lastAuction(n);
    let auction: number;
    if (below(HOT_AUCTIONS_RATIO) > 0) auction = Math.floor(latest / HOT_AUCTION_RATIO) * HOT_AUCTION_RATIO;
    else {
      const oldest = Math.max(latest - NUM_IN_FLIGHT_AUCTIONS, 0);
      auction = oldest + below(latest - oldest + 1 + AUCTION_ID_LEAD);
    }
    auction += FIRST_AUCTION_ID;
    let person: number;
    if (below(HOT_BIDDERS_RATIO) > 0) {
      person = Math.floor(lastPerson(n) / HOT_BIDDER_RATIO) * HOT_BIDDER_RATIO + 1;
    } else {
      const people = lastPerson(n) + 1;
      const active = Math.min(people, NUM_ACTIVE_PEOPLE);
      person = people - active + below(active + PERSON_ID_LEAD);
    }
    const id = person + 2 * FIRST_PERSON_ID;
    const price = Math.round(10 ** (next() * 6) * 100);
    const channel =
      below(2) > 0 ? (HOT_CHANNELS[below(HOT_CHANNELS.length)] as string) : `channel-${below(CHANNELS)}`;
    const extra = 'x'.repeat(EXTRA_BYTES - EXTRA_SPREAD + below(2 * EXTRA_SPREAD));
    bidder[b] = id;
    dateTime[b] = time;
    values.push(
      JSON.stringify({
        auction,
        bidder: String(id),
        price,
        channel,
        url: `https://www.nexmark.com/item.htm?query=1&channel=${channel}`,
        dateTime: new Date(time).toISOString(),
        extra,
      }),
    );
    b++;
  }
  return { events, rate, bidder, dateTime, values };
}
