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
import './local-env.ts';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type { Producer } from 'kafkajs';
import { isMain, runMain } from './cli.ts';
import { kafkaClient } from './services/kafka.ts';
import { serviceSettings } from './services/settings.ts';

export const HELP = `npm run produce [-- EVENT... | --file FILE]

Sends user activity events to the job's topic (KAFKA_TOPIC on KAFKA_BROKERS), keyed by user id
(all of a user's events in one partition, as Flink's keyBy needs):

  npm run produce -- user_A,1000 user_A,2000     events as arguments
  printf 'user_A,1000\\n' | npm run produce       lines from stdin (typed: Ctrl-D ends)
  npm run produce -- --file events.txt           lines from a file

An event is "<userId>,<eventTimeMillis>" or {"userId": ..., "timestamp": ...}. Blank lines are
skipped; any other line is sent as it is (a bad one ends up in rejected_events).

  --file FILE  read the events from FILE, one per line
  --help       this text
`;

export function parseProduceArgs(argv: readonly string[]): {
  file?: string;
  events: string[];
  help: boolean;
} {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: { file: { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } },
    allowPositionals: true,
    strict: true,
  });
  return { file: values.file, events: positionals, help: values.help };
}

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

async function main(): Promise<number> {
  const args = parseProduceArgs(process.argv.slice(2));
  if (args.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const settings = serviceSettings();
  // Connected before the input is opened: readline emits lines as soon as it exists, and lines
  // read while nobody iterates are lost.
  const producer = kafkaClient(settings, 'sessionizer-produce').producer();
  await producer.connect();
  let lines: AsyncIterable<string> | Iterable<string>;
  if (args.file !== undefined) {
    lines = createInterface({ input: createReadStream(args.file), crlfDelay: Number.POSITIVE_INFINITY });
  } else if (args.events.length > 0) {
    lines = args.events;
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
  return 0;
}

if (isMain(import.meta.url)) runMain('npm run produce', main);
