/**
 * The Kafka event as Lambda delivers it (Amazon MSK and self-managed Apache Kafka event source
 * mappings, docs/DESIGN.md section 7), and the same records once decoded.
 *
 * Wire shape: the "Example event" of https://docs.aws.amazon.com/lambda/latest/dg/with-msk.html
 * and of https://docs.aws.amazon.com/lambda/latest/dg/kafka-smaa.html (both in test/fixtures).
 * We do not reuse @types/aws-lambda's MSKEvent / SelfManagedKafkaEvent: they declare `key` and
 * `value` as required strings, but Lambda leaves `key` out for a record without a key and `value`
 * out for a tombstone (null value), and code typed against that optimistic shape crashes on both.
 */

export type KafkaEventSource = 'aws:kafka' | 'SelfManagedKafka';

/** Kafka's `TimestampType`: set by the producer, or by the broker when the topic says so. */
export type TimestampType = 'CREATE_TIME' | 'LOG_APPEND_TIME';

/**
 * One header as Lambda sends it: a one-key object whose value is the header's bytes as Java signed
 * bytes (-128..127), because the poller serialises a Java `byte[]` as a JSON array of numbers.
 */
export type KafkaEventRecordHeader = Record<string, number[]>;

/** One record of the wire event. `key` and `value` are base64. */
export interface KafkaEventRecord {
  topic: string;
  partition: number;
  offset: number;
  /** Epoch milliseconds, CREATE_TIME or LOG_APPEND_TIME as `timestampType` says. */
  timestamp: number;
  timestampType: TimestampType;
  /** Absent when the record has no key. */
  key?: string | null;
  /** Absent (or null) for a tombstone. */
  value?: string | null;
  headers: KafkaEventRecordHeader[];
}

interface KafkaEventBase {
  /** The brokers, one comma-separated string: "host1:9092,host2:9092". */
  bootstrapServers: string;
  /** Records grouped under "<topic>-<partition>", each group in offset order. */
  records: Record<string, KafkaEventRecord[]>;
}

export interface MskEvent extends KafkaEventBase {
  eventSource: 'aws:kafka';
  eventSourceArn: string;
}

/** Self-managed Kafka has no ARN: the cluster is known only by its bootstrap servers. */
export interface SelfManagedKafkaEvent extends KafkaEventBase {
  eventSource: 'SelfManagedKafka';
}

export type KafkaEvent = MskEvent | SelfManagedKafkaEvent;

/** A record header, decoded. Kafka allows repeated keys, so headers stay a list, not a map. */
export interface KafkaHeader {
  readonly key: string;
  readonly value: Buffer;
}

/** A record with its key, value and headers decoded to bytes. */
export interface KafkaRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
  readonly timestampType: TimestampType;
  /** null when the record has no key (an empty key is a zero-length Buffer). */
  readonly key: Buffer | null;
  /** null for a tombstone (an empty value is a zero-length Buffer). */
  readonly value: Buffer | null;
  readonly headers: readonly KafkaHeader[];
  /**
   * Set when the record's envelope is broken in a way that concerns this record only (an unknown
   * timestampType, a value that is not base64, malformed headers): the record is rejected with
   * reason `bad_envelope` and this text as its detail, instead of failing the whole event.
   */
  readonly envelopeFault?: string;
}

/** The records of one topic-partition in an event, sorted by offset, each offset once. */
export interface PartitionBatch {
  readonly topic: string;
  readonly partition: number;
  readonly records: readonly KafkaRecord[];
}

export interface DecodedKafkaEvent {
  readonly eventSource: KafkaEventSource;
  /** The MSK cluster ARN; undefined for self-managed Kafka. */
  readonly eventSourceArn?: string;
  readonly bootstrapServers: readonly string[];
  /** One batch per topic-partition, ordered by topic, then partition. */
  readonly batches: readonly PartitionBatch[];
}
