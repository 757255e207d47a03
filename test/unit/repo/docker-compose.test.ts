import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

// There is no Docker engine here and this Docker client has no `compose` plugin, so the file is
// checked by parsing it: the same services, ports and healthchecks as `npm run services:up`.

interface Service {
  image: string;
  ports?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  volumes?: string[];
  command?: string[] | string;
}

const compose = parse(readFileSync(new URL('../../../docker-compose.yml', import.meta.url), 'utf8')) as {
  services: Record<string, Service>;
};

describe('docker-compose.yml', () => {
  it.each([
    ['kafka', 'apache/kafka:', '127.0.0.1:9092:9092'],
    ['dynamodb', 'amazon/dynamodb-local:', '127.0.0.1:8000:8000'],
    ['postgres', 'postgres:', '127.0.0.1:5432:5432'],
  ])('runs %s from %s on %s with a healthcheck', (name, image, port) => {
    // Prepare
    const service = compose.services[name];

    // Assess
    expect(service?.image.startsWith(image)).toBe(true);
    expect(service?.ports).toEqual([port]);
    expect(service?.healthcheck?.test[0]).toMatch(/^CMD/);
  });

  it('runs DynamoDB Local shared and in memory, without telemetry', () => {
    expect(compose.services.dynamodb?.command).toEqual(
      expect.arrayContaining(['-sharedDb', '-inMemory', '-disableTelemetry']),
    );
  });

  it('initialises PostgreSQL with the project schema', () => {
    expect(compose.services.postgres?.volumes).toContain(
      './lib/sink/schema.sql:/docker-entrypoint-initdb.d/001-schema.sql:ro',
    );
  });

  it('initialises PostgreSQL idempotently and is healthy only once the last schema object exists', () => {
    // Prepare: every CREATE of the mounted schema, in order.
    const sql = readFileSync(new URL('../../../lib/sink/schema.sql', import.meta.url), 'utf8');
    const creates = [...sql.matchAll(/^CREATE\b[^(;]*?(\w+)\s*(?:\(|AS\b|ON\b)/gim)].map((m) => m[0]);

    // Assess: re-runnable (npm run migrate applies the same file to a live database) ...
    expect(creates.length).toBeGreaterThanOrEqual(6);
    for (const create of creates) expect(create).toMatch(/IF NOT EXISTS|OR REPLACE/i);
    expect(creates.join('\n')).toMatch(/CREATE TABLE IF NOT EXISTS user_sessions/);
    expect(creates.join('\n')).toMatch(/CREATE OR REPLACE VIEW user_session_totals/);
    // ... and the healthcheck waits for the last object created.
    const last = /(\w+)\s*(?:\(|AS\b|ON\b)$/i.exec(creates.at(-1) ?? '')?.[1];
    expect(String(compose.services.postgres?.healthcheck?.test)).toContain(`FROM ${last} `);
  });

  it('creates the user_activity topic after Kafka is healthy', () => {
    const init = compose.services['kafka-init'];
    expect(init?.depends_on).toEqual({ kafka: { condition: 'service_healthy' } });
    expect(String(init?.command)).toContain('--topic user_activity');
  });
});
