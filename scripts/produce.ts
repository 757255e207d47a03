/**
 * Sends user activity events to the topic, keyed by user id (all of a user's events in one
 * partition, the way keyBy maps onto Kafka):
 *
 *   npm run produce -- user_A,1000 user_A,2000     events as arguments
 *   printf 'user_A,1000\n' | npm run produce        lines from stdin
 *   npm run produce -- --file events.txt            lines from a file
 *   npm run produce -- --format avro user_A,1000    as a producer of the sample schemas would
 *
 * KAFKA_TOPIC and KAFKA_BROKERS as for the services. Blank lines are skipped; any other line is
 * sent as it is (a bad one ends up in rejected_events, which is the point of trying it), or with
 * --format json, avro or protobuf, "<userId>,<eventTimeMillis>" encoded as docs/PAYLOADS.md says.
 */
import './local-env.ts';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type { Producer } from 'kafkajs';
import { isMain, runMain, UsageError } from './cli.ts';
import {
  encodeEvent,
  PAYLOAD_FORMATS,
  type PayloadFormat,
  type Registry,
  sampleSettings,
} from './payloads.ts';
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

  --file FILE        read the events from FILE, one per line
  --format FORMAT    text (default: each line as it is), or encode each "<userId>,<eventTimeMillis>"
                     as a producer of the sample schemas would (docs/PAYLOADS.md; the job needs
                     the settings this prints): json (user.id, event_time as an ISO-8601 time),
                     avro (schemas/user-activity.avsc, Confluent wire format, schema id 1),
                     protobuf (schemas/user-activity.proto, AWS Glue wire format). A line that is
                     not "<userId>,<eventTimeMillis>" is sent as its text.
  --registry NAME    with avro or protobuf: confluent or glue (the other wire format)
  --schema-id ID     with avro or protobuf: the schema id the header names (to try unknown_schema_id)
  --help             this text
`;

export interface ProduceArgs {
  file?: string | undefined;
  events: string[];
  help: boolean;
  format: PayloadFormat;
  registry?: Registry | undefined;
  schemaId?: string | undefined;
}

export function parseProduceArgs(argv: readonly string[]): ProduceArgs {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: {
      file: { type: 'string' },
      format: { type: 'string', default: 'text' },
      registry: { type: 'string' },
      'schema-id': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  const format = values.format as PayloadFormat;
  if (!PAYLOAD_FORMATS.includes(format)) {
    throw new UsageError(`--format must be one of ${PAYLOAD_FORMATS.join(', ')}, got "${values.format}"`);
  }
  const registry = values.registry as Registry | undefined;
  if (registry !== undefined && registry !== 'confluent' && registry !== 'glue') {
    throw new UsageError(`--registry must be confluent or glue, got "${values.registry}"`);
  }
  if (
    (registry !== undefined || values['schema-id'] !== undefined) &&
    format !== 'avro' &&
    format !== 'protobuf'
  ) {
    throw new UsageError('--registry and --schema-id go with --format avro or protobuf');
  }
  const args: ProduceArgs = { file: values.file, events: positionals, help: values.help, format };
  if (registry !== undefined) args.registry = registry;
  if (values['schema-id'] !== undefined) args.schemaId = values['schema-id'];
  return args;
}

/** A line as the value a producer of `args.format` sends: encoded, or as it is when it is no event. */
export function encodeLine(
  line: string,
  args: Pick<ProduceArgs, 'format' | 'registry' | 'schemaId'>,
): Buffer {
  if (args.format === 'text') return Buffer.from(line);
  const comma = line.indexOf(',');
  const userId = line.slice(0, comma).trim();
  const time = line.slice(comma + 1).trim();
  if (comma === -1 || userId === '' || !/^\d+$/.test(time) || !Number.isSafeInteger(Number(time))) {
    return Buffer.from(line);
  }
  return encodeEvent(args.format, userId, Number(time), {
    ...(args.registry === undefined ? {} : { registry: args.registry }),
    ...(args.schemaId === undefined ? {} : { schemaId: args.schemaId }),
  });
}

const CHUNK = 1000;

export async function produceLines(
  producer: Producer,
  topic: string,
  lines: AsyncIterable<string> | Iterable<string>,
  progress: (sent: number) => void = () => undefined,
  encode: (line: string) => string | Buffer = (line) => line,
): Promise<number> {
  let sent = 0;
  let chunk: { key: string; value: string | Buffer }[] = [];
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
    chunk.push({ key: userKey(line), value: encode(line) });
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
  if (args.format !== 'text') {
    const env = Object.entries(sampleSettings(args.format, args.registry))
      .map(([key, value]) => `${key}=${value}`)
      .join(' ');
    console.error(`${args.format} values (docs/PAYLOADS.md); the job reads them with: ${env}`);
  }
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
    const sent = await produceLines(
      producer,
      settings.topic,
      lines,
      (n) => {
        if (n >= CHUNK && isTTY) process.stderr.write(`\rsent ${n} events...`);
        else if (n >= CHUNK && n % (CHUNK * 10) === 0) console.error(`sent ${n} events...`);
      },
      (line) => encodeLine(line, args),
    );
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
