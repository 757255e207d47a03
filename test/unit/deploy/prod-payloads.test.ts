import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE } from '../../../scripts/payloads.ts';
import { loadHandler, providedByRuntime, staticImports } from './support/bundle.ts';
import { type Packaged, packageService } from './support/package.ts';
import type { JsonObject } from './support/template.ts';

// docs/PAYLOADS.md: the prod stage with a schema format decoded in the function (trigger msk,
// valueFormat protobuf): the schema file travels in the package and the cold start reads it.

const MAX_ZIP_BYTES = 5 * 1024 * 1024;

let protobufPkg: Packaged;

beforeAll(async () => {
  protobufPkg = await packageService({
    stage: 'prod',
    paramsFile: 'examples/params.prod.yml',
    overrides: {
      valueFormat: 'protobuf',
      valueSchemaFile: SAMPLE.protobufFile,
      valueSchemaMessage: SAMPLE.protobufMessage,
      valueSchemaIds: SAMPLE.glueSchemaVersionId,
      userIdField: SAMPLE.userIdField,
      eventTimeField: SAMPLE.eventTimeField,
    },
  });
}, 180_000);

afterAll(() => protobufPkg?.cleanUp());

const variables = (pkg: Packaged, name: string) =>
  ((
    pkg.template.resource(`${name[0]?.toUpperCase()}${name.slice(1)}LambdaFunction`).properties
      .Environment as JsonObject
  ).Variables ?? {}) as Record<string, string>;

describe('serverless.yml, prod stage, valueFormat protobuf (decoded in the function)', () => {
  it('hands the functions the value format, its schema and the field mapping', () => {
    // Act
    const env = variables(protobufPkg, 'sessionize');

    // Assess
    expect(env).toMatchObject({
      VALUE_FORMAT: 'protobuf',
      VALUE_SCHEMA_FILE: SAMPLE.protobufFile,
      VALUE_SCHEMA_MESSAGE: SAMPLE.protobufMessage,
      VALUE_SCHEMA_IDS: SAMPLE.glueSchemaVersionId,
      USER_ID_FIELD: 'user.id',
      EVENT_TIME_FIELD: 'event_time',
      EVENT_TIME_UNIT: 'ms',
    });
  });

  it('packages the schema file at its path from the package root, beside the bundle, under 5 MB', () => {
    // Act
    const zip = protobufPkg.zip('sessionize');

    // Assess
    expect(zip.entries.map((e) => e.name).sort()).toEqual([
      'functions/sessionize.mjs',
      'functions/sessionize.mjs.map',
      SAMPLE.protobufFile,
    ]);
    expect(zip.bytes).toBeLessThan(MAX_ZIP_BYTES);
    const bundle = zip.entries.find((e) => e.name === 'functions/sessionize.mjs');
    expect(staticImports(bundle?.data().toString('utf8') ?? '').filter((s) => !providedByRuntime(s))).toEqual(
      [],
    );
  });

  it('loads as Lambda loads it: the cold start reads the schema from the package', async () => {
    // Prepare
    const { DATABASE_SECRET_ARN: _, ...env } = variables(protobufPkg, 'sessionize');

    // Act
    const loaded = await loadHandler(protobufPkg.zip('sessionize').entries, 'functions/sessionize.mjs', {
      ...env,
      AWS_REGION: 'us-east-1',
    });
    const missing = await loadHandler(protobufPkg.zip('sessionize').entries, 'functions/sessionize.mjs', {
      ...env,
      AWS_REGION: 'us-east-1',
      VALUE_SCHEMA_FILE: 'schemas/elsewhere.proto',
    });

    // Assess
    expect(loaded.output).toContain('handler:function');
    expect(loaded.ok).toBe(true);
    expect(missing.ok).toBe(false);
    expect(missing.output).toMatch(/VALUE_SCHEMA_FILE="schemas\/elsewhere\.proto": cannot be read/);
  }, 60_000);
});
