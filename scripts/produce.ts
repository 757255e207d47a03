/**
 * Sends user activity events to the topic, keyed by user id (all of a user's events in one
 * partition, the way keyBy maps onto Kafka):
 *
 *   npm run produce -- user_A,1000 user_A,2000     events as arguments
 *   printf 'user_A,1000\n' | npm run produce        lines from stdin
 *   npm run produce -- --file events.txt            lines from a file
 *
 * KAFKA_TOPIC and KAFKA_BROKERS as for the services. Blank lines are skipped; any other line is
 * sent as it is (a bad one ends up in rejected_events, which is the point of trying it).
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Producer } from 'kafkajs';
import { kafkaClient } from './services/kafka.ts';
import { serviceSettings } from './services/settings.ts';

const CHUNK = 1000;

export async function produceLines(
  producer: Producer,
  topic: string,
  lines: AsyncIterable<string> | Iterable<string>,
  progress: (sent: number) => void = () => undefined,
): Promise<number> {
  let sent = 0;
  let chunk: { key: string; value: string }[] = [];
  const flush = async () => {
    if (chunk.length === 0) return;
    await producer.send({ topic, messages: chunk });
    sent += chunk.length;
    chunk = [];
    progress(sent);
  };
  for await (const raw of lines) {
    const line = raw.trim();
    if (line === '') continue;
    chunk.push({ key: userKey(line), value: line });
    if (chunk.length >= CHUNK) await flush();
  }
  await flush();
  return sent;
}

/** The user id of a "user,time" or JSON line; the whole line when it is neither. */
export function userKey(line: string): string {
  if (line.startsWith('{')) {
    try {
      const userId = (JSON.parse(line) as { userId?: unknown }).userId;
      if (typeof userId === 'string') return userId.trim();
    } catch {
      // Not JSON after all: keyed by the line, the job rejects it.
    }
  }
  return (line.split(',')[0] ?? line).trim();
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const settings = serviceSettings();
  const fileIndex = args.indexOf('--file');
  // Connected before the input is opened: readline emits lines as soon as it exists, and lines
  // read while nobody iterates are lost.
  const producer = kafkaClient(settings, 'sessionizer-produce').producer();
  await producer.connect();
  let lines: AsyncIterable<string> | Iterable<string>;
  if (fileIndex >= 0) {
    const file = args[fileIndex + 1];
    if (file === undefined) throw new Error('--file needs a path');
    lines = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY });
  } else if (args.length > 0) {
    lines = args;
  } else {
    if (process.stdin.isTTY) console.error('Type events (user,timeMillis), one per line; Ctrl-D ends.');
    lines = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
  }
  const started = Date.now();
  const isTTY = process.stderr.isTTY;
  try {
    const sent = await produceLines(producer, settings.topic, lines, (n) => {
      if (n >= CHUNK && isTTY) process.stderr.write(`\rsent ${n} events...`);
      else if (n >= CHUNK && n % (CHUNK * 10) === 0) console.error(`sent ${n} events...`);
    });
    if (sent >= CHUNK && isTTY) process.stderr.write('\n');
    console.log(
      `sent ${sent} event(s) to ${settings.topic} in ${((Date.now() - started) / 1000).toFixed(1)}s`,
    );
  } finally {
    await producer.disconnect();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
