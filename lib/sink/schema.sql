-- sessionizer's PostgreSQL schema. Idempotent: run by `npm run migrate` / `npm run services:up`,
-- and by docker-compose as init SQL. Unqualified names: the caller picks the schema (search_path),
-- which is how each integration test gets tables of its own.

-- The sink table of the reference Flink lab, exactly as it created it (DESIGN.md section 1).
CREATE TABLE IF NOT EXISTS aggregated_counts (
  group_key       VARCHAR(255) PRIMARY KEY, -- session key, for UPSERT
  count_value     BIGINT,                   -- events in the session
  window_end_time TIMESTAMP                 -- when the session window closes
);

-- Records that were not counted, with the reason (DESIGN.md section 2). The key is the record's
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
