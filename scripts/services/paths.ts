import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (scripts/services/ is two levels down). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Everything the services write lives here, outside git (see .gitignore). */
export const SERVICES_DIR = process.env.SESSIONIZER_SERVICES_DIR ?? path.join(ROOT, '.services');

export const paths = {
  kafkaPom: path.join(ROOT, 'scripts/services/kafka/pom.xml'),
  kafkaLog4j: path.join(ROOT, 'scripts/services/kafka/log4j.properties'),
  kafkaLibs: path.join(SERVICES_DIR, 'kafka', 'libs'),
  data: path.join(SERVICES_DIR, 'data'),
  kafkaData: path.join(SERVICES_DIR, 'data', 'kafka'),
  kafkaConfig: path.join(SERVICES_DIR, 'data', 'kafka-server.properties'),
  dynamodbData: path.join(SERVICES_DIR, 'data', 'dynamodb'),
  dynamodbPom: path.join(ROOT, 'scripts/services/dynamodb/pom.xml'),
  dynamodbLibs: path.join(SERVICES_DIR, 'dynamodb', 'libs'),
  schemaSql: path.join(ROOT, 'lib/sink/schema.sql'),
  run: path.join(SERVICES_DIR, 'run'),
  logs: path.join(SERVICES_DIR, 'logs'),
} as const;

export function pidFile(service: string): string {
  return path.join(paths.run, `${service}.pid`);
}

export function logFile(service: string): string {
  return path.join(paths.logs, `${service}.log`);
}
