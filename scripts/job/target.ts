/**
 * The local job that `npm run reset` and `npm run status` look at: the same names `npm start`
 * gives it, from the same environment variables (README, "Configuration"), and the guard that
 * keeps these tools off anything that is not on this machine.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Admin } from 'kafkajs';
import type pg from 'pg';
import { DEFAULTS } from '../../lib/defaults.ts';
import { type ServiceSettings, serviceSettings } from '../services/settings.ts';

export interface JobTarget extends ServiceSettings {
  /** The job's consumer group: serverless.yml `consumerGroupId` (dev: KAFKA_CONSUMER_GROUP). */
  readonly group: string;
}

/** Connected clients for the target's services (the caller opens and closes them). */
export interface JobClients {
  readonly admin: Admin;
  readonly dynamo: DynamoDBClient;
  readonly db: pg.ClientBase;
}

export function jobTarget(env: NodeJS.ProcessEnv = process.env): JobTarget {
  return {
    ...serviceSettings(env),
    group: env.KAFKA_CONSUMER_GROUP || DEFAULTS.KAFKA_CONSUMER_GROUP,
  };
}

/** Loopback, or no host at all (a PostgreSQL Unix socket). */
export function isLocalHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return host === '' || host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

function hostOf(address: string): string {
  try {
    return new URL(address.includes('://') ? address : `tcp://${address}`).hostname;
  } catch {
    return address;
  }
}

/**
 * Why the target is not (only) on this machine, one reason per endpoint; empty when it is. Every
 * endpoint must be loopback, so these tools never reach AWS (DynamoDB, MSK, RDS) or anybody
 * else's services. An unset DYNAMODB_ENDPOINT means DynamoDB Local here (serviceSettings).
 */
export function remoteEndpoints(target: JobTarget): string[] {
  const reasons: string[] = [];
  if (!isLocalHost(hostOf(target.dynamodbEndpoint))) {
    reasons.push(`DYNAMODB_ENDPOINT=${target.dynamodbEndpoint} is not a local endpoint`);
  }
  for (const broker of target.kafkaBrokers) {
    if (!isLocalHost(hostOf(broker))) reasons.push(`KAFKA_BROKERS: ${broker} is not on this machine`);
  }
  const db = new URL(target.databaseUrl);
  // postgres://...?host=/var/run/postgresql is a Unix socket: local too.
  const host = db.searchParams.get('host') ?? db.hostname;
  if (!host.startsWith('/') && !isLocalHost(host)) {
    reasons.push(`DATABASE_URL: host ${host} is not on this machine`);
  }
  return reasons;
}
