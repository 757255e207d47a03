/**
 * The settings matrix of the chaos experiments: each experiment can run the job under the defaults
 * or under one of the variants below. The job takes them as environment variables (as users set
 * them); the judge folds with the same numbers, written here, not read from the job's code.
 */

export type SettingsName = 'defaults' | 'lateness' | 'kafka-time';

export const SETTINGS: readonly SettingsName[] = ['defaults', 'lateness', 'kafka-time'];

/**
 * The job's default idle timeout (IDLE_TIMEOUT_MS, docs/CONFIGURATION.md) and the offline sweep's
 * default interval (OFFLINE_SWEEP_INTERVAL_SECONDS): the experiments leave the job at these and
 * need them only to know how long a silence lasts before the sweep appends an idle tick.
 */
export const IDLE_TIMEOUT_MS = 5_000;
export const SWEEP_INTERVAL_MS = 2_000;

/** Stragglers: a share of the events sent with an event time this far behind the producer's clock. */
export interface Stragglers {
  readonly share: number;
  readonly minBehindMs: number;
  readonly maxBehindMs: number;
}

export interface ChaosSettings {
  readonly name: SettingsName;
  /** What the judge folds with (the job gets the same through `env`). */
  readonly gapMs: number;
  readonly outOfOrdernessMs: number;
  readonly allowedLatenessMs: number;
  /** 'kafka': the event time is the record's Kafka timestamp; the payload's second field is not read. */
  readonly eventTimeSource: 'payload' | 'kafka';
  /** The job's environment for these settings (on top of the experiment's own). */
  readonly env: Readonly<Record<string, string>>;
  readonly stragglers: readonly Stragglers[];
}

/** 0.5 % of the events 8 s behind: late with the defaults (G = 5 s), unless they join a live session. */
const EIGHT_SECONDS: Stragglers = { share: 0.005, minBehindMs: 8000, maxBehindMs: 8000 };

const DEFAULTS: ChaosSettings = {
  name: 'defaults',
  gapMs: 5000,
  outOfOrdernessMs: 0,
  allowedLatenessMs: 0,
  eventTimeSource: 'payload',
  // The job's defaults, spelled out so that a variable left in the caller's environment cannot
  // make the job fold with other numbers than the judge.
  env: {
    SESSION_GAP_MS: '5000',
    OUT_OF_ORDERNESS_MS: '0',
    ALLOWED_LATENESS_MS: '0',
    EVENT_TIME_SOURCE: 'payload',
  },
  stragglers: [EIGHT_SECONDS],
};

export const CHAOS_SETTINGS: Readonly<Record<SettingsName, ChaosSettings>> = {
  defaults: DEFAULTS,
  /**
   * B = 2 s, L = 3 s: sessions fire at W >= end - 1 and stay for 3 s more, so stragglers 1-4 s
   * behind (3 % of the events) join sessions that already wrote their row, which is then updated,
   * or deleted and replaced when the join moves the session's start (rule 7), while faults hit.
   */
  lateness: {
    ...DEFAULTS,
    name: 'lateness',
    outOfOrdernessMs: 2000,
    allowedLatenessMs: 3000,
    env: { ...DEFAULTS.env, OUT_OF_ORDERNESS_MS: '2000', ALLOWED_LATENESS_MS: '3000' },
    stragglers: [EIGHT_SECONDS, { share: 0.03, minBehindMs: 1000, maxBehindMs: 4000 }],
  },
  /**
   * The event time is the Kafka record timestamp (the producer stamps each record with its event
   * time, stragglers included); the payload still carries "<user>,<millis>", which is not read.
   */
  'kafka-time': {
    ...DEFAULTS,
    name: 'kafka-time',
    eventTimeSource: 'kafka',
    env: { ...DEFAULTS.env, EVENT_TIME_SOURCE: 'kafka' },
  },
};
