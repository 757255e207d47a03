/**
 * One emulated event source mapping: a kafkajs consumer in the function's consumer group that
 * reads each partition in order, invokes the function synchronously with the exact event, and
 * commits a batch's offsets only after the function succeeded. On a function error the same
 * batch is retried with bounded exponential backoff, forever (the AWS default: until success or
 * record expiry), so nothing after it is committed. The backoff is bounded, not the attempts:
 * giving up would lose records, which the job promises never to do (docs/DESIGN.md section 5).
 *
 * Mirrors https://docs.aws.amazon.com/lambda/latest/dg/with-msk-process.html: one batch in flight
 * per partition, several partitions in parallel, and the poller reads on while the function runs.
 * kafkajs fetches every partition of a broker in one request and waits until every batch of it
 * was handled before the next; so each partition has a lane of its own (a small queue and a loop
 * that invokes the function with its chunks in order), and eachBatch only hands the records to the
 * lane: the next fetch overlaps the invocations, and a slow partition does not hold the others.
 * A lane holding two batches pauses its partition's fetching until it has handed one to the function.
 *
 * The batching window is the lane's, as it is the event source mapping's: a batch goes to the
 * function when it holds batchSize records (or 6 MB), or when its first record has waited
 * maximumBatchingWindow; the broker hands records over as soon as it has any.
 */
import type { Admin, Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { isMarkedNotRetryable } from '../lib/errors.ts';
import { exponentialDelay, sleep } from '../lib/shared/index.ts';
import { MAX_EVENT_BYTES, type OfflineKafkaSettings, type TriggerDefinition } from './definition.ts';
import { toKafkaRecord } from './event.ts';
import { passesFilters } from './filter.ts';
import { type PackedBatch, packBatch, packedEvent, packMessages, unpackRecords } from './packed-records.ts';

/**
 * Runs the function with an event and returns its result; throws when the function failed. With
 * `handOver: 'packed'` (ReaderOptions) `event` is the batch's packed records (a PackedBatch whose
 * bytes are the caller's own copy, free to transfer) instead.
 */
export type Invoke = (functionKey: string, event: unknown) => Promise<unknown>;

export interface ReaderOptions {
  /**
   * What `invoke` receives: 'event' (the default), the event Lambda would deliver; 'packed', the
   * batch's records packed (one partition, offset order; offline/packed-records.ts), for a caller
   * that builds that same event elsewhere with packedEvent. The bench builds it in the function's
   * own thread, as Lambda's runtime builds it in the function's container (docs/BENCHMARKS.md).
   */
  readonly handOver?: 'event' | 'packed';
}

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
}

/** Partitions read at the same time (kafkajs runs one eachBatch per partition at a time). */
const PARTITIONS_IN_PARALLEL = 32;
/** A lane holding this many batches of records pauses its partition's fetching (see #eachBatch). */
const LANE_BATCHES = 2;
/** How often the watchdog looks at the fetch loop (see start()). */
const WATCHDOG_INTERVAL_MS = 1000;
/**
 * The longest the broker holds a fetch that finds nothing new (and kafkajs sleeps between fetch
 * attempts while every assigned partition is paused): the window, within these bounds, so an idle
 * topic costs a few fetches a second and a window of minutes does not hold a fetch for minutes.
 */
const FETCH_WAIT_MIN_MS = 100;
const FETCH_WAIT_MAX_MS = 500;

export class PartitionReader {
  readonly #kafka: Kafka;
  readonly #trigger: TriggerDefinition;
  readonly #settings: OfflineKafkaSettings;
  readonly #invoke: Invoke;
  readonly #log: Logger;
  readonly #handOver: 'event' | 'packed';
  #consumer: Consumer | undefined;
  #stopping = false;
  /** When the consumer last started a fetch, and how many lanes are invoking the function now. */
  #lastFetch = Date.now();
  #inFlight = 0;
  /** Each partition's lane ("topic-partition"). */
  #lanes = new Map<string, Lane>();
  /**
   * Bumped by a rebalance and by a new consumer: kafkajs then reads from the committed offsets
   * again, so the records lanes hold from before are dropped (the lane finishes the invocation in
   * hand, and commits it if it succeeded).
   */
  #epoch = 0;
  #watchdog: NodeJS.Timeout | undefined;
  #restarting = false;
  /** Wakes backoff sleeps when stopping. */
  readonly #stopController = new AbortController();
  /**
   * The consumer's heartbeat, from the latest eachBatch (kafkajs gives it only there). Kept once
   * for the reader, not per lane: the function's context holds that call's whole fetched batch.
   */
  #heartbeat: (() => Promise<void>) | undefined;
  readonly #beat = (): Promise<void> => this.#heartbeat?.() ?? Promise.resolve();

  constructor(
    kafka: Kafka,
    trigger: TriggerDefinition,
    settings: OfflineKafkaSettings,
    invoke: Invoke,
    log: Logger,
    options: ReaderOptions = {},
  ) {
    this.#kafka = kafka;
    this.#trigger = trigger;
    this.#settings = settings;
    this.#invoke = invoke;
    this.#log = log;
    this.#handOver = options.handOver ?? 'event';
  }

  get #label(): string {
    return `${this.#trigger.functionKey} <- ${this.#trigger.topic} (group ${this.#trigger.consumerGroupId})`;
  }

  async start(): Promise<void> {
    const t = this.#trigger;
    await this.#applyStartingPosition();
    if (this.#stopping) return;
    const consumer = this.#kafka.consumer({
      groupId: t.consumerGroupId,
      // Records reach the lanes as soon as the broker has any; the lanes keep the batching window
      // (#runLane). A broker-side window (minBytes and maxWait) would add a fetch's wait to it.
      maxWaitTimeInMs: Math.min(FETCH_WAIT_MAX_MS, Math.max(FETCH_WAIT_MIN_MS, t.maximumBatchingWindowMs)),
      minBytes: 1,
      // Up to an invocation's 6 MB per partition. 1 MB fetches (shorter decodes, more of them) cost
      // the bench's drain about 23 % more CPU per event: 55,844 and 58,005 events/s against
      // 76,092 and 68,644 with 6 MB, alternating (docs/BENCHMARKS.md).
      maxBytesPerPartition: 6 * 1024 * 1024,
      // Room for a full batch of every partition in one fetch (kafkajs's default is 10 MB in all).
      maxBytes: 64 * 1024 * 1024,
      // A retried batch may take long; heartbeats keep the member alive in the meantime.
      sessionTimeout: 30_000,
      heartbeatInterval: 3000,
      retry: { retries: 10 },
    });
    this.#consumer = consumer;
    // After every (re)join: the line that says the function now receives records, and from where.
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => void this.#logReady(payload.memberAssignment));
    // A rebalance: the partitions may move, and kafkajs reads from the committed offsets again.
    consumer.on(consumer.events.REBALANCING, () => this.#dropQueued());
    // kafkajs restarts a crashed consumer itself when the error is retriable; otherwise it stops for
    // good, and the trigger would go quiet while the job looks alive. Say so, and start it again.
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      const { error, restart } = payload;
      const why = `the consumer crashed (${error.name}: ${error.message})`;
      if (restart) this.#log.warn(`kafka trigger ${this.#label}: ${why}; kafkajs restarts it`);
      else void this.#restart(consumer, why);
    });
    // kafkajs fetches in a loop, every maximumBatchingWindow at most when nothing comes: a fetch
    // loop silent for fetchStallMs while no batch is being handled has stopped (kafkajs can stop without
    // a crash event); the watchdog starts the consumer again. Offsets are committed only after a
    // success, so a restart re-delivers at most what the checkpoint then skips.
    this.#lastFetch = Date.now();
    consumer.on(consumer.events.FETCH_START, () => {
      this.#lastFetch = Date.now();
    });
    clearInterval(this.#watchdog);
    this.#watchdog = setInterval(() => {
      const silentMs = Date.now() - this.#lastFetch;
      if (this.#inFlight === 0 && silentMs > this.#settings.fetchStallMs) {
        void this.#restart(consumer, `no fetch for ${Math.round(silentMs / 1000)} s and no batch in hand`);
      }
    }, WATCHDOG_INTERVAL_MS);
    this.#watchdog.unref();
    await consumer.connect();
    // Partitions without a committed offset got one in #applyStartingPosition; fromBeginning is
    // for partitions added later (AWS reads new partitions from the start too).
    await consumer.subscribe({ topic: t.topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: PARTITIONS_IN_PARALLEL,
      eachBatch: (payload) => this.#eachBatch(payload),
    });
    this.#log.info(
      `kafka trigger ${this.#label}: batchSize ${t.batchSize}, window ${t.maximumBatchingWindowMs} ms, ` +
        `from ${t.startingPosition}; joining the group`,
    );
  }

  /** Logs `ready` with the offset each assigned partition starts from (the group's committed one). */
  async #logReady(assignment: Record<string, number[]>): Promise<void> {
    const { topic, consumerGroupId } = this.#trigger;
    const partitions = assignment[topic] ?? [];
    let positions: string;
    const admin = this.#kafka.admin();
    try {
      await admin.connect();
      const [committed] = await admin.fetchOffsets({ groupId: consumerGroupId, topics: [topic] });
      const ends = await admin.fetchTopicOffsets(topic);
      positions = describeStart(partitions, committed?.partitions ?? [], ends);
    } catch (error) {
      positions = `partitions ${partitions.join(', ')} (offsets unknown: ${errorMessage(error)})`;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    this.#log.info(`kafka trigger ${this.#label}: ready, ${positions}`);
  }

  /**
   * start(), retried every 2 s until it succeeds or stop() is called: a missing topic, or a broker
   * that has just started and whose group coordinator is not ready yet, must not leave the
   * function without a trigger.
   */
  async startUntilRunning(): Promise<void> {
    for (let attempt = 1; !this.#stopping; attempt++) {
      try {
        await this.start();
        return;
      } catch (error) {
        this.#log.warn(
          `kafka trigger ${this.#label}: could not start (attempt ${attempt}): ` +
            `${errorMessage(error)}; retrying in 2 s`,
        );
        // reset(), not stop(): a stopped reader ignores start(), and this one must start later.
        await this.reset();
        await sleep(2000, this.#stopController.signal);
      }
    }
  }

  /**
   * Undoes a failed start so start() can be called again (e.g. right after the broker started,
   * the group coordinator is not ready yet). Unlike stop(), the reader stays usable.
   */
  async reset(): Promise<void> {
    clearInterval(this.#watchdog);
    // The invocations in hand finish (and commit through this consumer) before it goes.
    await this.#settleLanes();
    this.#lanes = new Map();
    this.#heartbeat = undefined;
    const consumer = this.#consumer;
    this.#consumer = undefined;
    await consumer?.disconnect().catch(() => undefined);
  }

  /** Drops every lane's waiting records, then waits for the invocations in hand to end. */
  async #settleLanes(): Promise<void> {
    this.#dropQueued();
    await Promise.all([...this.#lanes.values()].map((lane) => lane.running));
  }

  /** Drops every lane's waiting records (a new epoch) and lifts the pauses they had caused. */
  #dropQueued(): void {
    this.#epoch++;
    for (const lane of this.#lanes.values()) {
      lane.queue = [];
      lane.queued = 0;
      lane.resume?.();
      lane.resume = undefined;
      lane.wake?.();
    }
  }

  /** A new consumer in place of one that stopped reading: said, then done once. */
  async #restart(consumer: Consumer, why: string): Promise<void> {
    if (this.#stopping || this.#restarting || this.#consumer !== consumer) return;
    this.#restarting = true;
    try {
      this.#log.warn(`kafka trigger ${this.#label}: ${why}; starting the consumer again`);
      await this.reset();
      await sleep(2000, this.#stopController.signal);
      await this.startUntilRunning();
    } finally {
      this.#restarting = false;
    }
  }

  /** Stops fetching; an in-flight invocation finishes (and commits only if it succeeded). */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#stopController.abort();
    clearInterval(this.#watchdog);
    await this.#settleLanes();
    await this.#consumer?.disconnect().catch(() => undefined);
  }

  /**
   * Hands a fetched batch to its partition's lane and returns, so kafkajs fetches on. Its offsets
   * are resolved (kafkajs's fetch position, nothing is committed): the lane commits each chunk
   * after the function succeeded with it.
   */
  async #eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat } = payload;
    // Not `batch` itself in the closures below: the lane's loop keeps theirs alive.
    const { topic, partition } = batch;
    const key = `${topic}-${partition}`;
    let lane = this.#lanes.get(key);
    if (lane === undefined) {
      lane = { topic, partition, queue: [], queued: 0 };
      this.#lanes.set(key, lane);
    }
    // Paused for good (a not-retryable failure): fetched before the pause took effect.
    if (lane.stopped === true) {
      this.#pause(lane);
      return;
    }
    this.#heartbeat = heartbeat;
    const { messages } = batch;
    const lastFetched = messages.at(-1);
    if (lastFetched === undefined) return;
    const patterns = this.#trigger.filterPatterns;
    // filterPatterns drop records before batching, as on AWS; their offsets are still committed.
    const records =
      patterns.length === 0
        ? messages
        : messages.filter((m) => passesFilters(toKafkaRecord(topic, partition, m), patterns));
    // While the lane is busy, records join its last waiting chunk up to a batch, as the poller
    // fills a batch while the function runs. Chunks wait packed (offline/packed-records.ts): the
    // message objects of a fetch die with this call, young.
    let tail = lane.queue.at(-1);
    // A tail of filtered-out records only: the commits of the chunks after it cover it.
    if (tail !== undefined && tail.packed === undefined && records.length > 0) {
      lane.queue.pop();
      tail = undefined;
    }
    // The window of a batch runs from when its first record was fetched.
    const now = Date.now();
    const limits = { batchSize: this.#trigger.batchSize, maxEventBytes: MAX_EVENT_BYTES - 1024 };
    const chunks = records.length === 0 ? [] : packMessages(topic, partition, records, limits, tail?.packed);
    for (const packed of chunks) {
      if (tail?.packed !== undefined && packed.firstOffset === tail.packed.firstOffset) {
        if (packed !== tail.packed) tail.commitTo = undefined;
        tail.packed = packed;
      } else lane.queue.push({ packed, firstAt: now });
    }
    const last = lane.queue.at(-1);
    const lastOffset = Number(lastFetched.offset);
    // Filtered-out records after the last one delivered: nothing to invoke, still consumed.
    if (last !== undefined && lastFetched !== records.at(-1)) last.commitTo = lastOffset + 1;
    if (last === undefined) lane.queue.push({ firstAt: now, commitTo: lastOffset + 1 });
    lane.queued += records.length;
    // A lane waiting out a batch's window looks again: the batch may be full now.
    lane.wake?.();
    resolveOffset(lastFetched.offset);
    if (lane.queued >= LANE_BATCHES * this.#trigger.batchSize && lane.resume === undefined)
      lane.resume = this.#pause(lane);
    lane.running ??= this.#runLane(lane)
      // Said, never thrown: an unhandled rejection would end the whole job. The records it held are
      // not committed; the next fetch starts the lane again.
      .catch((error: unknown) =>
        this.#log.warn(`kafka trigger ${this.#label}: ${key}'s lane stopped: ${errorMessage(error)}`),
      )
      .finally(() => {
        (lane as Lane).running = undefined;
      });
  }

  /**
   * Pauses the lane's partition through the consumer and returns what resumes it. eachBatch's own
   * pause() does the same, but what it returns keeps that call's fetched batch alive (a closure
   * holds its whole context) for as long as the lane stays paused.
   */
  #pause(lane: Lane): () => void {
    const consumer = this.#consumer;
    const partitions = [{ topic: lane.topic, partitions: [lane.partition] }];
    consumer?.pause(partitions);
    return () => consumer?.resume(partitions);
  }

  /**
   * Invokes the function with the lane's chunks in order, until it is empty or dropped. The last
   * chunk waits until it is full or its window has passed (the batch the event source mapping is
   * still filling); a chunk with another behind it is full.
   */
  async #runLane(lane: Lane): Promise<void> {
    this.#inFlight++;
    try {
      for (;;) {
        const head = lane.queue[0];
        if (head === undefined || this.#stopping) return;
        const count = head.packed?.count ?? 0;
        const filling = lane.queue.length === 1 && count < this.#trigger.batchSize;
        const wait = head.firstAt + this.#trigger.maximumBatchingWindowMs - Date.now();
        if (filling && count > 0 && wait > 0) {
          await this.#waitForBatch(lane, wait);
          continue;
        }
        const item = lane.queue.shift() as QueuedChunk;
        lane.queued -= item.packed?.count ?? 0;
        // Fetching resumes as soon as the lane is below two batches: the next fetch overlaps this
        // invocation (all partitions paused, kafkajs sleeps maxWaitTime between its fetch attempts).
        if (lane.resume !== undefined && lane.queued < LANE_BATCHES * this.#trigger.batchSize) {
          lane.resume();
          lane.resume = undefined;
        }
        if (!(await this.#handleChunk(lane, item, this.#epoch))) return;
      }
    } finally {
      this.#inFlight--;
      this.#lastFetch = Date.now();
    }
  }

  /**
   * Commits the next offset to read. A failure (a broker gone for longer than kafkajs retries) is
   * said, not thrown: the function has succeeded with the batch, its checkpoint skips the batch if
   * the group delivers it again, and the partition's next commit covers this one.
   */
  async #commit(topic: string, partition: number, offset: number): Promise<void> {
    try {
      await this.#consumer?.commitOffsets([{ topic, partition, offset: String(offset) }]);
    } catch (error) {
      this.#log.warn(
        `kafka trigger ${this.#label}: could not commit ${topic}-${partition} offset ${offset} ` +
          `(${errorMessage(error)}); the function's checkpoint skips the batch if it comes again`,
      );
    }
  }

  /** Until `ms` have passed or the lane has news (more records, a drop, a stop). */
  async #waitForBatch(lane: Lane, ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        lane.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      lane.wake = done;
    });
  }

  /** One chunk, retried until it succeeds; false when the lane must stop (paused, or dropped). */
  async #handleChunk(lane: Lane, item: QueuedChunk, epoch: number): Promise<boolean> {
    const { topic, partition } = lane;
    const abandoned = () => this.#stopping || this.#epoch !== epoch;
    let pending: PackedBatch | undefined = item.packed;
    let attempt = 0;
    const stall = this.#settings.stallMs.get(partition);
    if (stall !== undefined) await this.#backoffFor(stall, this.#beat);
    while (pending !== undefined) {
      // Abandoned: nothing of this chunk is committed; the group re-delivers it.
      if (abandoned()) return false;
      const { failedFrom, retryable } = await this.#invokeOnce(pending, attempt);
      if (abandoned() && failedFrom !== undefined) return false;
      if (!retryable) {
        // The function said retrying cannot help (lost checkpoint state, a broken event): stop
        // this partition instead of hammering it. Nothing from the failed batch on is committed.
        lane.stopped = true;
        lane.queue = [];
        lane.queued = 0;
        lane.resume = undefined;
        this.#pause(lane);
        this.#log.warn(
          `kafka trigger ${this.#label}: ${topic}-${partition} PAUSED at offset ` +
            `${pending.firstOffset}: the function failed with an error it marks not retryable (see its log ` +
            'above). Nothing from this offset on is committed. Fix the cause, then restart the job.',
        );
        return false;
      }
      if (failedFrom === undefined) {
        // The next offset to read, as Kafka commits it: the last processed one plus one.
        await this.#commit(topic, partition, item.commitTo ?? pending.lastOffset + 1);
        break;
      }
      // Part of the batch failed (or all of it): what came before is done, the rest goes again.
      const records = unpackRecords(pending.bytes);
      const last = records.filter((r) => r.offset < failedFrom).at(-1);
      if (last !== undefined) {
        await this.#commit(topic, partition, last.offset + 1);
        attempt = 0;
      }
      const rest = records.filter((r) => r.offset >= failedFrom);
      pending = rest.length > 0 ? packBatch(rest) : undefined;
      attempt++;
      await this.#backoff(attempt, this.#beat);
    }
    if (item.packed === undefined && item.commitTo !== undefined && !abandoned()) {
      await this.#commit(topic, partition, item.commitTo);
    }
    await this.#beat().catch(() => undefined);
    return true;
  }

  /**
   * One invocation. `failedFrom` is undefined when the whole batch succeeded, otherwise the first
   * offset that must be retried (the batch's first on an error; the lowest reported item failure
   * with ReportBatchItemFailures). `retryable` is false when the function's error says retrying
   * cannot help (lib/errors.ts: the handler marks such errors in their message, the one part of
   * an error that survives serverless-offline's worker thread).
   */
  async #invokeOnce(
    batch: PackedBatch,
    attempt: number,
  ): Promise<{ failedFrom: number | undefined; retryable: boolean }> {
    const { topic, partition, firstOffset } = batch;
    const range = `${topic}-${partition} offsets ${firstOffset}..${batch.lastOffset}`;
    const event =
      this.#handOver === 'packed'
        ? { ...batch, bytes: batch.bytes.slice(0) }
        : packedEvent(batch.bytes, this.#trigger, this.#settings.brokers);
    try {
      const result = await this.#invoke(this.#trigger.functionKey, event);
      if (attempt > 0)
        this.#log.info(`kafka trigger ${this.#label}: ${range} succeeded after ${attempt} retries`);
      if (!this.#trigger.reportBatchItemFailures) return { failedFrom: undefined, retryable: true };
      return { failedFrom: lowestFailure(result, topic, partition), retryable: true };
    } catch (error) {
      const message = errorMessage(error);
      const retryable = !isMarkedNotRetryable(message);
      if (retryable) {
        this.#log.warn(
          `kafka trigger ${this.#label}: ${range} failed (attempt ${attempt + 1}), retrying the same batch: ${message}`,
        );
      }
      return { failedFrom: firstOffset, retryable };
    }
  }

  async #backoff(attempt: number, heartbeat: () => Promise<void>): Promise<void> {
    const { retryInitialMs, retryMaxMs } = this.#settings;
    await this.#backoffFor(exponentialDelay(attempt - 1, retryInitialMs, retryMaxMs), heartbeat);
  }

  /** Waits, heartbeating every second so the group keeps this member while it waits. */
  async #backoffFor(delayMs: number, heartbeat: () => Promise<void>): Promise<void> {
    const deadline = Date.now() + delayMs;
    while (!this.#stopping && Date.now() < deadline) {
      await sleep(Math.min(1000, deadline - Date.now()), this.#stopController.signal);
      await heartbeat().catch(() => undefined);
    }
  }

  /**
   * Gives every partition without a committed offset the position startingPosition asks for,
   * before the group starts: LATEST then means "when the trigger was created", like on AWS, and
   * AT_TIMESTAMP is honoured (kafkajs alone knows only earliest/latest).
   */
  async #applyStartingPosition(): Promise<void> {
    const t = this.#trigger;
    const admin: Admin = this.#kafka.admin();
    await admin.connect();
    try {
      const [committed] = await admin.fetchOffsets({ groupId: t.consumerGroupId, topics: [t.topic] });
      const missing = (committed?.partitions ?? [])
        .filter((p) => Number(p.offset) < 0)
        .map((p) => p.partition);
      if (missing.length === 0) return;
      const ends = await admin.fetchTopicOffsets(t.topic);
      const atTimestamp =
        t.startingPosition === 'AT_TIMESTAMP'
          ? await admin.fetchTopicOffsetsByTimestamp(t.topic, t.startingPositionTimestampMs)
          : [];
      const partitions = missing.map((partition) => {
        const p = ends.find((x) => x.partition === partition);
        const end = p?.high ?? '0';
        if (t.startingPosition === 'TRIM_HORIZON') return { partition, offset: p?.low ?? '0' };
        if (t.startingPosition === 'LATEST') return { partition, offset: end };
        // No record at or after the timestamp: start at the end.
        const offset = atTimestamp.find((x) => x.partition === partition)?.offset ?? '-1';
        return { partition, offset: Number(offset) < 0 ? end : offset };
      });
      await admin.setOffsets({ groupId: t.consumerGroupId, topic: t.topic, partitions });
    } finally {
      await admin.disconnect();
    }
  }
}

/**
 * "partition 0 from offset 3 (log end 5), ..." for the assigned partitions: where the member
 * starts reading (the committed offset) and how much is already waiting.
 */
export function describeStart(
  partitions: readonly number[],
  committed: readonly { partition: number; offset: string }[],
  ends: readonly { partition: number; high: string }[],
): string {
  if (partitions.length === 0) return 'no partition assigned (more members than partitions)';
  return [...partitions]
    .sort((a, b) => a - b)
    .map((partition) => {
      const offset = committed.find((c) => c.partition === partition)?.offset ?? '-1';
      const end = ends.find((e) => e.partition === partition)?.high ?? '?';
      const from = Number(offset) < 0 ? 'the beginning (no committed offset)' : `offset ${offset}`;
      return `partition ${partition} from ${from} (log end ${end})`;
    })
    .join(', ');
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The lowest offset of this partition in a `batchItemFailures` response, if any. */
export function lowestFailure(result: unknown, topic: string, partition: number): number | undefined {
  const failures = (result as { batchItemFailures?: unknown } | null)?.batchItemFailures;
  if (!Array.isArray(failures)) return undefined;
  let lowest: number | undefined;
  for (const f of failures) {
    const id = (f as { itemIdentifier?: { partition?: unknown; offset?: unknown } })?.itemIdentifier;
    if (id?.partition !== `${topic}-${partition}`) continue;
    const offset = Number(id.offset);
    if (Number.isSafeInteger(offset) && (lowest === undefined || offset < lowest)) lowest = offset;
  }
  return lowest;
}

/** Records of one partition waiting for the function: a batch, and where to commit after it. */
interface QueuedChunk {
  /** The records, packed; undefined when there are none (all filtered out). Records fetched while it waits last join it. */
  packed?: PackedBatch;
  /** When its first record was fetched: the batching window runs from then. */
  readonly firstAt: number;
  /** Past the chunk's last record when records after it were filtered out (still consumed). */
  commitTo?: number;
}

/** A partition's lane: what was fetched and not yet handed to the function, and its loop. */
interface Lane {
  readonly topic: string;
  readonly partition: number;
  queue: QueuedChunk[];
  /** Records in queue. */
  queued: number;
  /** Set while the lane's loop runs. */
  running?: Promise<void> | undefined;
  /** Set while the lane paused its partition because it holds enough. */
  resume?: (() => void) | undefined;
  /** Paused for good: the function failed with an error it marks not retryable. */
  stopped?: boolean;
  /** Set while the lane's loop waits for its last batch to fill (#waitForBatch). */
  wake?: (() => void) | undefined;
}
