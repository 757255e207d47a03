import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../lib/config.ts';
import { DEFAULTS } from '../../../lib/defaults.ts';

// serverless.yml writes the job's defaults a second time (params.dev from the shell, and the
// deployed stage's provider.environment): a default changed in lib/config.ts and not there would
// make a deployed job run other settings than the docs say, silently. One place decides: these
// must agree with what loadConfig gives when nothing is set.

const YAML = readFileSync(new URL('../../../serverless.yml', import.meta.url), 'utf8');
const defaults = loadConfig({});

/** The variable, its serverless.yml fallback, and the default loadConfig gives. */
const CASES: [string, string, string][] = [
  ['SESSION_GAP_MS', 'sessionGapMs', String(defaults.engine.gapMs)],
  ['OUT_OF_ORDERNESS_MS', 'outOfOrdernessMs', String(defaults.engine.outOfOrdernessMs)],
  ['ALLOWED_LATENESS_MS', 'allowedLatenessMs', String(defaults.engine.allowedLatenessMs)],
  ['EVENT_TIME_SOURCE', 'eventTimeSource', defaults.eventTimeSource],
  ['USER_ID_FIELD', 'userIdField', defaults.fields.userIdField],
  ['EVENT_TIME_FIELD', 'eventTimeField', defaults.fields.eventTimeField],
  ['EVENT_TIME_UNIT', 'eventTimeUnit', defaults.fields.eventTimeUnit],
  ['IDLE_FLUSH', 'idleFlush', String(defaults.idleFlush)],
  ['IDLE_TIMEOUT_MS', 'idleTimeoutMs', String(defaults.idleTimeoutMs)],
  ['STATE_TTL_DAYS', 'stateTtlDays', String(defaults.stateTtlDays)],
  ['CHECKPOINT_JOURNAL_MAX', 'checkpointJournalMax', String(defaults.journalMax)],
  ['DATABASE_QUERY_TIMEOUT_MS', 'databaseQueryTimeoutMs', String(defaults.databaseQueryTimeoutMs)],
  ['DATABASE_PREPARED_STATEMENTS', 'databasePreparedStatements', String(defaults.databasePreparedStatements)],
];

describe('the defaults serverless.yml repeats', () => {
  it.each(CASES)(
    "%s: the dev stage and the deployed stage fall back to lib/config.ts's default",
    (name, param, expected) => {
      // Act
      const dev = YAML.match(new RegExp(`${param}: \\$\\{env:${name}, '([^']*)'\\}`))?.[1];
      const deployed = YAML.match(new RegExp(`${name}: \\$\\{param:${param}, '([^']*)'\\}`))?.[1];

      // Assess
      expect(dev).toBe(expected);
      expect(deployed).toBe(expected);
    },
  );

  it('runs the offline sweep as often as lib/defaults.ts says by default', () => {
    // Act
    const offline = YAML.match(/sweep: \$\{env:OFFLINE_SWEEP_INTERVAL_SECONDS, (\d+)\}/)?.[1];

    // Assess
    expect(Number(offline)).toBe(DEFAULTS.OFFLINE_SWEEP_INTERVAL_SECONDS);
  });
});
