import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../scripts/cli.ts';
import {
  formatAgo,
  formatRejects,
  formatStatus,
  formatWatermark,
  type JobStatus,
  renderColumns,
} from '../../../scripts/job/status.ts';
import { parseStatusArgs } from '../../../scripts/status.ts';

describe('npm run status arguments', () => {
  it.each([
    { argv: [], expected: { once: false, json: false, intervalMs: 2000, help: false } },
    { argv: ['--once'], expected: { once: true, json: false, intervalMs: 2000, help: false } },
    { argv: ['--json'], expected: { once: true, json: true, intervalMs: 2000, help: false } },
    { argv: ['--interval', '5'], expected: { once: false, json: false, intervalMs: 5000, help: false } },
    { argv: ['--help'], expected: { once: false, json: false, intervalMs: 2000, help: true } },
  ])('reads $argv', ({ argv, expected }) => {
    expect(parseStatusArgs(argv)).toEqual(expected);
  });

  it.each([['0'], ['soon'], ['1.5']])('refuses --interval %s', (value) => {
    expect(() => parseStatusArgs(['--interval', value])).toThrow(UsageError);
  });
});

const STATUS: JobStatus = {
  takenAt: Date.parse('2026-01-02T10:00:10Z'),
  topic: 'user_activity',
  group: 'sessionizer-dev',
  brokers: '127.0.0.1:9092',
  table: 'sessionizer-checkpoints',
  database: 'postgres://postgres@127.0.0.1:5432/flink_db',
  members: [{ memberId: 'm-1', clientId: 'offline-sessionizer', clientHost: '/127.0.0.1' }],
  notes: [],
  partitions: [
    {
      partition: 0,
      committedOffset: 3,
      logEndOffset: 3,
      lag: 0,
      appliedOffset: 3,
      watermark: 7999,
      liveSessions: 1,
      unwrittenSessions: 1,
      stateBytes: 25_400,
      rowsWritten: 1,
      provisionalRows: 0,
      rejects: { late: 2, bad_json: 1 },
      lastBatchAt: Date.parse('2026-01-02T10:00:06Z'),
    },
    {
      partition: 1,
      committedOffset: null,
      logEndOffset: 12,
      lag: null,
      appliedOffset: null,
      watermark: null,
      liveSessions: null,
      unwrittenSessions: null,
      stateBytes: null,
      rowsWritten: null,
      provisionalRows: null,
      rejects: {},
      lastBatchAt: null,
    },
  ],
};

describe('formatStatus', () => {
  it('shows one aligned line per partition, "-" for what is not known', () => {
    // Act
    const lines = formatStatus(STATUS).split('\n');

    // Assess
    expect(lines[0]).toBe('topic user_activity on 127.0.0.1:9092, group sessionizer-dev: running (1 member)');
    expect(lines[3]).toMatch(
      /^partition {2}committed {2}log end {2}lag {2}watermark +live {2}unwritten {2}memory +rows {2}provisional {2}rejects +last batch$/,
    );
    expect(lines[4]).toMatch(
      /^ +0 +3 +3 +0 {2}1970-01-01T00:00:07\.999Z +1 +1 {2}25 KB +1 +0 {2}late:2 bad_json:1 {2}\d\d:\d\d:06 \(4 s ago\)$/,
    );
    expect(lines[5]).toMatch(/^ +1 +- +12 +- {2}- +- +- {2}- +- +- {2}0 +-$/);
    const header = lines[3] ?? '';
    // Numbers end under the end of their heading.
    expect(lines[4]?.indexOf('3') ?? 0).toBeLessThan(header.indexOf('committed') + 'committed'.length);
  });

  it('says when the job is not running, and lists the notes', () => {
    // Act
    const text = formatStatus({ ...STATUS, members: [], notes: ['checkpoint table x does not exist'] });

    // Assess
    expect(text).toContain('group sessionizer-dev: not running');
    expect(text.split('\n').at(-1)).toBe('note: checkpoint table x does not exist');
  });
});

describe('status fields', () => {
  it.each([
    { watermark: null, shown: '-' },
    { watermark: 12_999, shown: '1970-01-01T00:00:12.999Z' },
    { watermark: Number.NEGATIVE_INFINITY, shown: '-' },
  ])('shows watermark $watermark as $shown', ({ watermark, shown }) => {
    expect(formatWatermark(watermark)).toBe(shown);
  });

  it.each([
    { ago: 4_000, shown: /\(4 s ago\)$/ },
    { ago: 600_000, shown: /\(10 min ago\)$/ },
    { ago: 3 * 3_600_000, shown: /\(3 h ago\)$/ },
  ])('says how long ago a batch was: $ago ms', ({ ago, shown }) => {
    expect(formatAgo(1_000_000_000 - ago, 1_000_000_000)).toMatch(shown);
  });

  it.each<{ rejects: Record<string, number> | null; shown: string }>([
    { rejects: null, shown: '-' },
    { rejects: {}, shown: '0' },
    { rejects: { late: 3 }, shown: 'late:3' },
  ])('shows rejects $rejects as $shown', ({ rejects, shown }) => {
    expect(formatRejects(rejects)).toBe(shown);
  });

  it('pads columns to their widest cell, numbers to the right', () => {
    expect(
      renderColumns(
        ['p', 'name'],
        [
          ['1', 'a'],
          ['10', 'bbb'],
        ],
      ),
    ).toBe(' p  name\n 1  a\n10  bbb');
  });
});
