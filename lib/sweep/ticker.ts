import type { Kafka, Producer } from 'kafkajs';
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
 * What the sweep needs from Kafka: the topic's partitions with their log end offsets (the offset
 * the next record will get), and a way to append ticks to some.
 */
export interface Ticker {
  partitions(topic: string): Promise<number[]>;
  endOffsets(topic: string): Promise<Map<number, number>>;
  send(topic: string, partitions: readonly number[], kind?: TickKind): Promise<void>;
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

  constructor(private readonly kafka: () => Promise<Kafka>) {}

  async partitions(topic: string): Promise<number[]> {
    return topicPartitions(await this.kafka(), topic);
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
