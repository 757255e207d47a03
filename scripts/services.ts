/**
 * npm run services:up | services:down | services:wipe | services:status | migrate
 *
 * Runs the three services the job needs without Docker: Kafka (KRaft) and DynamoDB Local from
 * Maven Central on the JDK, PostgreSQL from the machine. See README, "Local services".
 */
import './local-env.ts';
import pg from 'pg';
import { ensureDatabase, migrate } from '../lib/sink/index.ts';
import { serviceSettings, servicesDown, servicesStatus, servicesUp, servicesWipe } from './services/index.ts';
import { ensureKafkaJars } from './services/kafka.ts';

async function main(command: string | undefined): Promise<number> {
  switch (command) {
    case 'up':
      await servicesUp();
      return 0;
    case 'down':
      await servicesDown();
      return 0;
    case 'wipe':
      await servicesWipe();
      return 0;
    case 'status':
      return (await servicesStatus()) ? 0 : 1;
    case 'migrate': {
      const { databaseUrl } = serviceSettings();
      await ensureDatabase(databaseUrl);
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      await migrate(client).finally(() => client.end());
      console.log('schema applied');
      return 0;
    }
    case 'fetch-kafka':
      ensureKafkaJars();
      return 0;
    default:
      console.error('usage: tsx scripts/services.ts up|down|wipe|status|migrate|fetch-kafka');
      return 2;
  }
}

main(process.argv[2]).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
