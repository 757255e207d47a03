import { describe, expect, it } from 'vitest';
import { parseProduceArgs } from '../../../scripts/produce.ts';

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
  ])('reads $argv', ({ argv, expected }) => {
    expect(parseProduceArgs(argv)).toEqual({ file: undefined, ...expected });
  });

  it('refuses an unknown option instead of sending it as an event', () => {
    expect(() => parseProduceArgs(['--bogus'])).toThrow(
      expect.objectContaining({ code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION' }),
    );
  });
});
