import { type Config, loadConfig } from '../config.ts';
import { connectKafka, KafkaTicker, type SweepDeps } from '../sweep/index.ts';
import { checkpointStore, dynamoClient } from './clients.ts';

export interface SweepRuntime {
  readonly config: Config;
  readonly deps: SweepDeps;
  close(): Promise<void>;
}

/**
 * What the sweep needs, once per container: the checkpoint (read only) and a Kafka producer for the
 * idle ticks, connected at the first tick and kept while the container lives. Apart from the Kafka
 * handler's runtime so that neither bundle carries the other's clients.
 */
export function createSweepRuntime(env: NodeJS.ProcessEnv = process.env): SweepRuntime {
  const config = loadConfig(env);
  const dynamo = dynamoClient(config, env);
  let kafka: ReturnType<typeof connectKafka> | undefined;
  const ticker = new KafkaTicker(() => {
    if (kafka === undefined) {
      const connecting = connectKafka(config.kafka, 'sessionizer-sweep');
      connecting.catch(() => {
        kafka = undefined;
      });
      kafka = connecting;
    }
    return kafka;
  });
  return {
    config,
    deps: {
      store: checkpointStore(config, dynamo),
      ticker,
      now: Date.now,
      settings: {
        idleTimeoutMs: config.idleFlush ? config.idleTimeoutMs : null,
        stateTtlDays: config.stateTtlDays,
      },
      state: { partitionCountSent: new Map() },
    },
    close: async () => {
      await ticker.close();
      dynamo.destroy();
    },
  };
}
