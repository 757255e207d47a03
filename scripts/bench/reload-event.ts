/**
 * The reload tier's Kafka events (reload-tier.ts builds the partition with them, reload-cold.ts
 * sends the cold container its batch): one partition of one topic, `<user>,<millis>` values.
 */
import type { KafkaRecord } from '../../lib/decode/index.ts';
import { buildKafkaEvent } from '../../offline/build-event.ts';

export const RELOAD_TOPIC = 'bench_reload';
/** Event times of the reload partition: every user's one event within 4 s of this, so none fires. */
export const RELOAD_T0 = 1_700_000_000_000;

export function reloadEvent(values: readonly (readonly [string, number])[], firstOffset: number) {
  return buildKafkaEvent({
    eventSource: 'SelfManagedKafka',
    bootstrapServers: ['b-1.bench:9092'],
    records: values.map(
      ([user, t], i): KafkaRecord => ({
        topic: RELOAD_TOPIC,
        partition: 0,
        offset: firstOffset + i,
        timestamp: t,
        timestampType: 'CREATE_TIME',
        key: null,
        value: Buffer.from(`${user},${t}`),
        headers: [],
      }),
    ),
  });
}
