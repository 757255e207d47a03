-- sessionizer's PostgreSQL schema. Idempotent: run by `npm run migrate` / `npm run services:up`,
-- and by docker-compose as init SQL. Unqualified names: the caller picks the schema (search_path),
-- which is how each integration test gets tables of its own.

-- The sink table of the reference Flink lab, exactly as it created it (docs/DESIGN.md section 1).
CREATE TABLE IF NOT EXISTS aggregated_counts (
  group_key       VARCHAR(255) PRIMARY KEY, -- session key, for UPSERT
  count_value     BIGINT,                   -- events in the session
  window_end_time TIMESTAMP                 -- when the session window closes
);

-- Records that were not counted, with the reason (docs/DESIGN.md section 2). The key is the record's
-- Kafka coordinates, so a replayed batch does not duplicate a rejection.
CREATE TABLE IF NOT EXISTS rejected_events (
  topic           VARCHAR(249) NOT NULL,
  kafka_partition INTEGER      NOT NULL,
  kafka_offset    BIGINT       NOT NULL,
  kafka_timestamp TIMESTAMP,
  raw_value       TEXT         NOT NULL,
  raw_encoding    VARCHAR(6)   NOT NULL CHECK (raw_encoding IN ('utf8', 'base64')),
  reason          VARCHAR(32)  NOT NULL,
  detail          TEXT         NOT NULL,
  rejected_at     TIMESTAMPTZ  NOT NULL DEFAULT now(),
  PRIMARY KEY (topic, kafka_partition, kafka_offset)
);

CREATE INDEX IF NOT EXISTS rejected_events_reason ON rejected_events (reason);
-- The Kafka timestamp as the record carried it (epoch ms; any long a broker accepts). kafka_timestamp
-- is the same instant where a TIMESTAMP holds one, NULL for -1 ("no timestamp") and beyond year 294276.
ALTER TABLE rejected_events ADD COLUMN IF NOT EXISTS kafka_timestamp_ms BIGINT;

-- Fencing tokens: the checkpoint generation and claim epoch of the last transaction that wrote each
-- Kafka partition's rows (docs/STATE.md section 5). A stale invocation (one whose claim was taken
-- over) finds a newer epoch here and rolls back, so it never writes rows the committed history does
-- not have; a checkpoint table that went back (lost or restored) finds an epoch it never issued.
CREATE TABLE IF NOT EXISTS sink_fences (
  topic           VARCHAR(249) NOT NULL,
  kafka_partition INTEGER      NOT NULL,
  epoch           BIGINT       NOT NULL,
  PRIMARY KEY (topic, kafka_partition)
);
-- Added with the checkpoint generation; '' (older than any generation) for rows written before it.
ALTER TABLE sink_fences ADD COLUMN IF NOT EXISTS generation VARCHAR(64) NOT NULL DEFAULT '';
-- The partition's records watermark (epoch ms) after the last transaction, and the allowed lateness
-- it ran with: a session row is final once records_watermark >= its end - 1 + allowed_lateness_ms,
-- provisional before (docs/DESIGN.md section 4). NULL until a release that writes them has run.
ALTER TABLE sink_fences ADD COLUMN IF NOT EXISTS records_watermark BIGINT;
ALTER TABLE sink_fences ADD COLUMN IF NOT EXISTS allowed_lateness_ms BIGINT;

-- Epoch milliseconds as a UTC TIMESTAMP, exactly (a rejected record's Kafka timestamp, which may be
-- any long: the sink passes it as a bigint rather than formatting a timestamp text). Whole days
-- and the milliseconds within the day are added apart: one interval of milliseconds would go
-- through a double and lose the last digits near the year 9999. Inlined by the planner (a plain
-- SQL expression).
CREATE OR REPLACE FUNCTION epoch_ms_to_utc(ms BIGINT) RETURNS TIMESTAMP
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN TIMESTAMP 'epoch' + (ms / 86400000) * INTERVAL '1 day' + (ms % 86400000) * INTERVAL '1 millisecond';

-- Event times (epoch milliseconds from 0 to 9999-12-31T23:59:59.999Z, lib/engine/constants.ts
-- MAX_EVENT_TIME_MS) as a UTC TIMESTAMP and as a TIMESTAMPTZ. The sinks of earlier releases wrote
-- session times through these two; the sink now sends the times as binary timestamp arrays
-- (lib/sink/binary-array.ts), and they stay so that a job of an earlier release still running while
-- the schema is migrated keeps writing. Computed exactly and at about half epoch_ms_to_utc's cost:
-- whole seconds and the milliseconds are added apart, each an interval of time alone (no day part,
-- whose addition goes through the calendar, and no AT TIME ZONE). Exact over that range: seconds
-- times 1,000,000 microseconds is a double held exactly up to year 9999 (the seconds times 15,625
-- stay under 2^53), the milliseconds are a few hundred thousand microseconds, and an interval
-- without days adds the same microseconds in every TimeZone. Beyond year 292277 the first interval
-- overflows: Kafka timestamps, which may be any long, go through epoch_ms_to_utc.
CREATE OR REPLACE FUNCTION event_ms_to_timestamp(ms BIGINT) RETURNS TIMESTAMP
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN TIMESTAMP 'epoch' + (ms / 1000) * INTERVAL '1 second' + (ms % 1000) * INTERVAL '1 millisecond';
-- STABLE, as timestamptz + interval is (it would read TimeZone for an interval with days).
CREATE OR REPLACE FUNCTION event_ms_to_timestamptz(ms BIGINT) RETURNS TIMESTAMPTZ
  LANGUAGE sql STABLE STRICT PARALLEL SAFE
  RETURN TIMESTAMPTZ 'epoch' + (ms / 1000) * INTERVAL '1 second' + (ms % 1000) * INTERVAL '1 millisecond';

-- One row per session: what the lab exists to compute (docs/DESIGN.md section 1), the duration
-- and the count, which aggregated_counts has no room for. A row written by the idle flush is
-- provisional until the records' watermark passes the session (session_status, below). Written by the same transaction as
-- aggregated_counts (same key, same monotone guard, same deletes of superseded sessions), so the
-- two tables always hold the same sessions.
--
-- Times are TIMESTAMPTZ, unlike aggregated_counts (whose TIMESTAMP the reference lab fixed): event
-- times are instants (epoch milliseconds), and TIMESTAMPTZ stores the instant itself, so
-- comparisons with now(), date_trunc() in a reporting time zone and clients in any TimeZone give
-- the right answer; a TIMESTAMP holding UTC is silently shifted whenever it meets a TIMESTAMPTZ.
-- Both take 8 bytes and keep microseconds (millisecond event times are exact).
CREATE TABLE IF NOT EXISTS user_sessions (
  group_key       VARCHAR(255) NOT NULL,
  -- COLLATE "C": compared byte by byte (see the upgrade below).
  user_id         VARCHAR(255) COLLATE "C" NOT NULL,
  session_start   TIMESTAMPTZ  NOT NULL,
  last_event_time TIMESTAMPTZ  NOT NULL,
  window_end_time TIMESTAMPTZ  NOT NULL,
  event_count     BIGINT       NOT NULL CHECK (event_count > 0),
  -- Generated, so it can never disagree with the two times it is the difference of.
  duration_ms     BIGINT       NOT NULL
                  GENERATED ALWAYS AS ((EXTRACT(EPOCH FROM last_event_time - session_start) * 1000)::bigint) STORED,
  topic           VARCHAR(249) NOT NULL,
  kafka_partition INTEGER      NOT NULL,
  CONSTRAINT user_sessions_times_ordered
    CHECK (session_start <= last_event_time AND last_event_time < window_end_time),
  -- The session's key: group_key is "<user_id>|<session_start>", so (user_id, session_start) is
  -- unique exactly when group_key is. Keyed this way, one index serves both the upsert and "the
  -- sessions of a user, in time order" (and user_session_totals' GROUP BY user_id): every index
  -- costs a descent and a WAL record per session written (docs/BENCHMARKS.md, "What bounds each
  -- tier"), and the key was indexed twice, as group_key and as (user_id, session_start).
  CONSTRAINT user_sessions_pkey PRIMARY KEY (user_id, session_start)
);

-- Releases before 2026-12 keyed user_sessions by group_key, with a second index on (user_id,
-- session_start): rekeyed once, in place (the new primary key is built from the table; until this
-- transaction commits, writes to user_sessions wait).
DO $$
DECLARE
  key_columns TEXT;
BEGIN
  SELECT string_agg(a.attname, ',' ORDER BY k.n) INTO key_columns
    FROM pg_constraint c
    CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, n)
    JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
   WHERE c.conrelid = format('%I.user_sessions', current_schema())::regclass AND c.contype = 'p';
  IF key_columns = 'group_key' THEN
    EXECUTE format('ALTER TABLE %I.user_sessions DROP CONSTRAINT user_sessions_pkey', current_schema());
    EXECUTE format('ALTER TABLE %I.user_sessions ADD CONSTRAINT user_sessions_pkey PRIMARY KEY (user_id, session_start)',
                   current_schema());
  END IF;
  EXECUTE format('DROP INDEX IF EXISTS %I.user_sessions_user', current_schema());
END $$;
-- user_id is compared byte by byte (COLLATE "C"), not by the database's collation: the primary
-- key's descent compares user ids for every session written, and a libc collation (en_US.UTF-8,
-- even C.UTF-8) compares through strcoll, about 9 % of the insert's time (docs/BENCHMARKS.md, "The
-- late morning of 2026-12-03"). Equality is the same under every deterministic collation, so
-- lookups, joins and GROUP BY user_id are unchanged; ORDER BY user_id sorts by code point (as
-- C.UTF-8 does; en_US.UTF-8 sorts case and accents differently). Releases before 2026-12-03 used the
-- database's collation: changed once, in place (the primary key is rebuilt, the table is not
-- rewritten; the two views below read user_id, so they are dropped first and created again
-- below; a view of your own over user_sessions.user_id makes this fail with PostgreSQL's message
-- naming it: drop it, migrate, create it again).
DO $$
BEGIN
  IF (SELECT collation_name FROM information_schema.columns
       WHERE table_schema = current_schema() AND table_name = 'user_sessions' AND column_name = 'user_id')
     IS DISTINCT FROM 'C' THEN
    EXECUTE format('DROP VIEW IF EXISTS %I.session_status', current_schema());
    EXECUTE format('DROP VIEW IF EXISTS %I.user_session_totals', current_schema());
    EXECUTE format('ALTER TABLE %I.user_sessions ALTER COLUMN user_id TYPE VARCHAR(255) COLLATE "C"',
                   current_schema());
  END IF;
END $$;
-- "Sessions ending in a time range" (window_end_time BETWEEN ...), e.g. for a report per hour. A
-- BRIN index: sessions are written about in the order they end (each partition's rows fire as its
-- watermark passes their end), so the table's page ranges hold narrow ranges of window_end_time,
-- and a BRIN index keeps one summary per 128 pages instead of one entry per row: a btree here cost
-- a descent and a WAL record per session written (docs/BENCHMARKS.md, "What bounds each tier").
-- autosummarize: a filled page range is summarised by autovacuum, not only by the next VACUUM.
-- Releases before 2026-12 built it as a btree, under the same name: that one is replaced, once.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_class c JOIN pg_am am ON am.oid = c.relam
              WHERE c.relname = 'user_sessions_window_end' AND am.amname = 'btree'
                AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())) THEN
    EXECUTE format('DROP INDEX %I.user_sessions_window_end', current_schema());
  END IF;
END $$;
CREATE INDEX IF NOT EXISTS user_sessions_window_end ON user_sessions USING brin (window_end_time)
  WITH (autosummarize = on);

COMMENT ON TABLE user_sessions IS
  'One row per event-time session (gap G): the same sessions as aggregated_counts, with their times and duration. Idempotent: a replay never duplicates or regresses a row; a session superseded by a merge (a provisional row joined, or allowed lateness > 0) is deleted here and in aggregated_counts in one transaction. session_status says which rows are final.';
COMMENT ON COLUMN user_sessions.group_key IS
  'Same key as aggregated_counts.group_key: "<user_id>|<session_start as ISO-8601 UTC with ms>".';
COMMENT ON COLUMN user_sessions.user_id IS 'The user (Flink keyBy key) the session belongs to.';
COMMENT ON COLUMN user_sessions.session_start IS 'Event time of the first event of the session.';
COMMENT ON COLUMN user_sessions.last_event_time IS 'Event time of the latest event of the session.';
COMMENT ON COLUMN user_sessions.window_end_time IS
  'Exclusive end of the session window: last_event_time + gap G (Flink TimeWindow.getEnd()); the instant of aggregated_counts.window_end_time.';
COMMENT ON COLUMN user_sessions.event_count IS
  'Events in the session, duplicates included; equals aggregated_counts.count_value.';
COMMENT ON COLUMN user_sessions.duration_ms IS
  'last_event_time - session_start in milliseconds; 0 for a one-event session. The gap after the last event is not included.';
COMMENT ON COLUMN user_sessions.topic IS 'Kafka topic the events came from.';
COMMENT ON COLUMN user_sessions.kafka_partition IS
  'Kafka partition the events came from (sessions, watermarks and checkpoints are per partition).';

-- Final or provisional: a session row is final once its partition's records watermark has passed
-- end - 1 + allowed lateness (docs/DESIGN.md section 4): no record can change it any more. Before,
-- it was written early by the idle flush (or fired, within the allowed lateness) and a later
-- on-time record may still update it, or replace it by a merged session. Join aggregated_counts on
-- group_key for its rows' status.
CREATE OR REPLACE VIEW session_status AS
SELECT s.group_key, s.user_id, s.session_start, s.last_event_time, s.window_end_time, s.event_count,
       s.duration_ms, s.topic, s.kafka_partition,
       CASE WHEN f.records_watermark IS NOT NULL AND f.allowed_lateness_ms IS NOT NULL
             AND (extract(epoch FROM s.window_end_time) * 1000)::bigint - 1 + f.allowed_lateness_ms
                 <= f.records_watermark
            THEN 'final' ELSE 'provisional' END AS status,
       f.records_watermark
  FROM user_sessions s
  LEFT JOIN sink_fences f ON f.topic = s.topic AND f.kafka_partition = s.kafka_partition;

COMMENT ON VIEW session_status IS
  'user_sessions with status final (the records watermark of its partition has passed window_end_time - 1 ms + allowed lateness: no record can change the row) or provisional (written early by the idle flush, or within the allowed lateness: an on-time record may still update or merge it).';

-- Per-user totals over user_sessions. A plain view: always current, and the primary key (user_id,
-- session_start) makes it cheap per user (WHERE user_id = ...). Every session with a row, final or provisional.
CREATE OR REPLACE VIEW user_session_totals AS
SELECT user_id,
       count(*)                         AS sessions,
       sum(event_count)::bigint         AS total_events,
       sum(duration_ms)::bigint         AS total_duration_ms,
       round(avg(duration_ms), 1)       AS avg_duration_ms,
       max(duration_ms)                 AS longest_duration_ms,
       min(session_start)               AS first_activity,
       max(last_event_time)             AS last_activity
  FROM user_sessions
 GROUP BY user_id;

COMMENT ON VIEW user_session_totals IS
  'Per user, over the sessions in user_sessions (final and provisional, see session_status): number of sessions, events, total / average / longest duration (ms), first and last event time.';
COMMENT ON COLUMN user_session_totals.user_id IS 'The user.';
COMMENT ON COLUMN user_session_totals.sessions IS 'Sessions of the user with a row.';
COMMENT ON COLUMN user_session_totals.total_events IS 'Events in those sessions (sum of event_count).';
COMMENT ON COLUMN user_session_totals.total_duration_ms IS 'Sum of duration_ms.';
COMMENT ON COLUMN user_session_totals.avg_duration_ms IS 'Mean duration_ms, rounded to 0.1 ms.';
COMMENT ON COLUMN user_session_totals.longest_duration_ms IS 'Largest duration_ms.';
COMMENT ON COLUMN user_session_totals.first_activity IS 'Earliest session_start: the first event time.';
COMMENT ON COLUMN user_session_totals.last_activity IS 'Latest last_event_time: the last event time.';
