import type { Kafka, Producer } from 'kafkajs';
import { PARTITIONS_CONTROL_VALUE, PARTITIONS_HEADER } from '../checkpoint/index.ts';
import { REFRESH_TICK_VALUE, TICK_HEADER, TICK_HEADER_VALUE } from '../decode/index.ts';

/** Which control record the sweep appends (lib/decode/control-records.ts reads them). */
export type TickKind = 'idle' | 'refresh';

/** A tick as kafkajs sends it (the sweep's producer). The broker or producer stamps the time. */
export function tickMessage(
  partition: number,
  kind: TickKind = 'idle',
): { partition: number; value: null; headers: Record<string, string> } {
  return {
    partition,
    value: null,
    headers: { [TICK_HEADER]: kind === 'idle' ? TICK_HEADER_VALUE : REFRESH_TICK_VALUE },
  };
}

/**
 * The `partitions` control record (docs/DEPLOY.md, "Adding partitions"): the topic's partition
 * count for the checkpoint's `meta`, appended to partition 0, which every topic has.
 */
export function partitionCountMessage(count: number): {
  partition: number;
  value: null;
  headers: Record<string, string>;
} {
  return {
    partition: 0,
    value: null,
    headers: { [TICK_HEADER]: PARTITIONS_CONTROL_VALUE, [PARTITIONS_HEADER]: String(count) },
  };
}

/**
 * What the sweep needs from Kafka: the topic's partitions with their log end offsets (the offset
 * the next record will get), and a way to append ticks to some, and the partition count to
 * partition 0 (returning the offset it got).
 */
export interface Ticker {
  partitions(topic: string): Promise<number[]>;
  endOffsets(topic: string): Promise<Map<number, number>>;
  send(topic: string, partitions: readonly number[], kind?: TickKind): Promise<void>;
  sendPartitionCount(topic: string, count: number): Promise<number>;
}

/** The topic's partition ids, ascending, from the brokers' metadata (none if it does not exist). */
export async function topicPartitions(kafka: Kafka, topic: string): Promise<number[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    return (topics[0]?.partitions ?? []).map((p) => p.partitionId).sort((a, b) => a - b);
  } finally {
    await admin.disconnect();
  }
}

/**
 * Appends idle ticks with a kafkajs producer, connected on first use and kept for the container's
 * life (a warm Lambda container reuses it). acks=all: a tick the sweep believes sent is in the log.
 */
export class KafkaTicker implements Ticker {
  private producer: Promise<Producer> | undefined;
  /** Each topic's partition count as last seen, to notice partitions added (see partitions). */
  private readonly counts = new Map<string, number>();

  constructor(private readonly kafka: () => Promise<Kafka>) {}

  async partitions(topic: string): Promise<number[]> {
    const partitions = await topicPartitions(await this.kafka(), topic);
    const before = this.counts.get(topic);
    this.counts.set(topic, partitions.length);
    // Partitions were added: a producer connected before knows only the old ones (kafkajs refreshes
    // its metadata every 5 minutes) and drops ticks sent to a new one without a word. A new
    // producer reads the metadata afresh.
    if (before !== undefined && before !== partitions.length) await this.close();
    return partitions;
  }

  async endOffsets(topic: string): Promise<Map<number, number>> {
    const admin = (await this.kafka()).admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchTopicOffsets(topic);
      return new Map(offsets.map((o) => [o.partition, Number(o.high)]));
    } finally {
      await admin.disconnect();
    }
  }

  async send(topic: string, partitions: readonly number[], kind: TickKind = 'idle'): Promise<void> {
    if (partitions.length === 0) return;
    const producer = await this.connected();
    await producer.send({ topic, acks: -1, messages: partitions.map((p) => tickMessage(p, kind)) });
  }

  async sendPartitionCount(topic: string, count: number): Promise<number> {
    const producer = await this.connected();
    const [sent] = await producer.send({ topic, acks: -1, messages: [partitionCountMessage(count)] });
    return Number(sent?.baseOffset ?? -1);
  }

  async close(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    if (producer !== undefined) await (await producer).disconnect().catch(() => undefined);
  }

  private connected(): Promise<Producer> {
    if (this.producer === undefined) {
      const connecting = this.kafka().then(async (kafka) => {
        const producer = kafka.producer({ allowAutoTopicCreation: false });
        await producer.connect();
        return producer;
      });
      connecting.catch(() => {
        this.producer = undefined;
      });
      this.producer = connecting;
    }
    return this.producer;
  }
}
