import '../../scripts/local-env.ts';
import { servicesUp } from '../../scripts/services/index.ts';

/**
 * Starts Kafka and DynamoDB Local when they are not running (and prepares PostgreSQL), so
 * `npm test` alone works on a fresh machine; reuses them when they are. They are left running
 * for the next run: `npm run services:down` stops them.
 */
export default async function setup(): Promise<void> {
  await servicesUp(undefined, (line) => console.log(`[services] ${line}`));
}
