import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SAMPLE, sampleSettings } from '../../../scripts/payloads.ts';
import { encodeLine, parseProduceArgs } from '../../../scripts/produce.ts';

describe('npm run produce arguments', () => {
  it.each([
    { argv: [], expected: { events: [], help: false } },
    {
      argv: ['user_A,1000', 'user_A,2000'],
      expected: { events: ['user_A,1000', 'user_A,2000'], help: false },
    },
    { argv: ['--file', 'events.txt'], expected: { file: 'events.txt', events: [], help: false } },
    { argv: ['--help'], expected: { events: [], help: true } },
    { argv: ['--', '--help'], expected: { events: ['--help'], help: false } },
    {
      argv: ['--format', 'json', 'user_A,1000'],
      expected: { events: ['user_A,1000'], help: false, format: 'json' },
    },
    {
      argv: ['--format', 'avro', '--registry', 'glue', '--schema-id', '2', 'user_A,1'],
      expected: { events: ['user_A,1'], help: false, format: 'avro', registry: 'glue', schemaId: '2' },
    },
  ])('reads $argv', ({ argv, expected }) => {
    expect(parseProduceArgs(argv)).toEqual({ file: undefined, format: 'text', ...expected });
  });

  it.each([
    { argv: ['--format', 'xml'], message: '--format must be one of text, json, avro, protobuf, got "xml"' },
    { argv: ['--format', 'avro', '--registry', 'apicurio'], message: '--registry must be confluent or glue' },
    { argv: ['--registry', 'glue'], message: '--registry and --schema-id go with --format avro or protobuf' },
  ])('refuses $argv', ({ argv, message }) => {
    expect(() => parseProduceArgs(argv)).toThrow(message);
  });

  it('refuses an unknown option instead of sending it as an event', () => {
    expect(() => parseProduceArgs(['--bogus'])).toThrow(
      expect.objectContaining({ code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION' }),
    );
  });
});

describe('npm run produce --format', () => {
  it.each([
    { format: 'text', hex: Buffer.from('user_A,1000').toString('hex') },
    {
      format: 'json',
      hex: Buffer.from(
        '{"user":{"id":"user_A"},"event_time":"1970-01-01T00:00:01.000Z","page":"/"}',
      ).toString('hex'),
    },
    // Confluent: 0x00, id 1, then Avro: string "user_A" (length 6 zigzag 0x0c), long 1000 (0xd00f), union 1 "/"
    { format: 'avro', hex: '0000000001' + '0c757365725f41' + 'd00f' + '02022f' },
    // Glue: 0x03, no compression, the UUID, message index 1, then the Protobuf message
    {
      format: 'protobuf',
      hex: `0300${SAMPLE.glueSchemaVersionId.replaceAll('-', '')}01${'0a080a06757365725f4110e8071a012f'}`,
    },
  ] as const)('encodes a line as $format', ({ format, hex }) => {
    expect(encodeLine('user_A,1000', { format }).toString('hex')).toBe(hex);
  });

  it('sends a line that is no "<userId>,<eventTimeMillis>" as its text, to try the rejections', () => {
    expect(encodeLine('garbage', { format: 'avro' }).toString()).toBe('garbage');
    expect(encodeLine('user_A,soon', { format: 'protobuf' }).toString()).toBe('user_A,soon');
  });
});

describe('docs/PAYLOADS.md', () => {
  it.each(['json', 'avro', 'protobuf'] as const)('gives the settings the %s sample needs', (format) => {
    // Prepare
    const doc = readFileSync(new URL('../../../docs/PAYLOADS.md', import.meta.url), 'utf8');

    // Assess: every one of them in the invoke-local lines.
    const lines = doc.slice(doc.indexOf('```bash'));
    for (const [key, value] of Object.entries(sampleSettings(format)))
      expect(lines).toContain(`${key}=${value}`);
    expect(lines).toContain(`events/seed-batch-${format}.json`);
  });
});
