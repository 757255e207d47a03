import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { ensureCheckpointTable } from '../../lib/checkpoint/index.ts';
import { ensureJars } from './maven.ts';
import { paths } from './paths.ts';
import { runningPid, startDetached, stopProcess, waitUntilReady } from './processes.ts';
import { hostPort, type ServiceSettings } from './settings.ts';

const SERVICE = 'dynamodb';

/** A client for DynamoDB Local: any credentials work, they only have to be present. */
export function dynamoClient(settings: ServiceSettings): DynamoDBClient {
  return new DynamoDBClient({
    endpoint: settings.dynamodbEndpoint,
    region: settings.region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
}

export async function dynamoAnswers(settings: ServiceSettings): Promise<boolean> {
  const client = dynamoClient(settings);
  try {
    await client.send(new ListTablesCommand({ Limit: 1 }));
    return true;
  } catch {
    return false;
  } finally {
    client.destroy();
  }
}

export async function startDynamo(settings: ServiceSettings): Promise<'started' | 'running' | 'external'> {
  let pid = runningPid(SERVICE);
  let state: 'started' | 'running' | 'external' = 'running';
  if (pid === null) {
    if (await dynamoAnswers(settings)) {
      state = 'external';
    } else {
      ensureJars('DynamoDB Local 3.1.0', paths.dynamodbPom, paths.dynamodbLibs);
      pid = launch(settings);
      state = 'started';
    }
  }
  const ready = () => waitUntilReady(SERVICE, () => dynamoAnswers(settings), { pid, timeoutMs: 60_000 });
  await ready().catch(async (error: unknown) => {
    if (state !== 'started') throw error;
    await stopProcess(SERVICE, 5_000);
    pid = launch(settings);
    await ready();
  });
  const client = dynamoClient(settings);
  try {
    await ensureCheckpointTable(client, settings.checkpointTable);
  } finally {
    client.destroy();
  }
  return state;
}

function launch(settings: ServiceSettings): number {
  return startDetached(
    SERVICE,
    'java',
    dynamoArgs(hostPort(settings.dynamodbEndpoint).port, paths.dynamodbData),
  );
}

/**
 * DynamoDB Local's command line: its tables in `dataDir` (one SQLite file with -sharedDb), kept
 * across restarts like a real table; `npm run services:wipe` deletes them.
 */
export function dynamoArgs(port: number, dataDir: string): string[] {
  mkdirSync(dataDir, { recursive: true });
  return [
    '-Xmx512m',
    // sqlite4java finds libsqlite4java-linux-amd64-<version>.so here.
    `-Djava.library.path=${paths.dynamodbLibs}`,
    '-cp',
    path.join(paths.dynamodbLibs, '*'),
    'software.amazon.dynamodb.services.local.main.ServerRunner',
    '-dbPath',
    dataDir,
    '-sharedDb',
    '-disableTelemetry',
    '-port',
    String(port),
  ];
}

export async function stopDynamo(): Promise<boolean> {
  return stopProcess(SERVICE);
}
