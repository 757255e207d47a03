import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE } from '../../../scripts/payloads.ts';
import { loadHandler, providedByRuntime, staticImports } from './support/bundle.ts';
import { grants, privilegeProblems, statementsOf } from './support/iam.ts';
import { type Packaged, packageService } from './support/package.ts';
import type { JsonObject } from './support/template.ts';

// docs/PAYLOADS.md: the prod stage with a schema format decoded in the function (trigger msk,
// valueFormat protobuf): the schema file travels in the package and the cold start reads it; and
// the raw mapping (trigger msk-esm) with a schema registry (docs/DEPLOY.md, "Schema registry"):
// the mapping's SchemaRegistryConfig and the permissions it needs, nothing wider.

const MAX_ZIP_BYTES = 5 * 1024 * 1024;
const GLUE_REGISTRY = 'arn:aws:glue:us-east-1:111122223333:registry/sessionizer-prod';
const CONFLUENT_URL = 'https://psrc-abc12.us-east-1.aws.confluent.cloud';
const REGISTRY_SECRET =
  'arn:aws:secretsmanager:us-east-1:111122223333:secret:sessionizer/prod/registry-Gh56Ij';
const REGISTRY_CA =
  'arn:aws:secretsmanager:us-east-1:111122223333:secret:sessionizer/prod/registry-ca-Kl78Mn';

let protobufPkg: Packaged;
let gluePkg: Packaged;
let confluentPkg: Packaged;

beforeAll(async () => {
  // One after the other: each is a whole osls run.
  gluePkg = await packageService({
    stage: 'prod',
    paramsFile: 'examples/params.prod-msk-esm.yml',
    overrides: { schemaRegistry: 'glue', schemaRegistryUri: GLUE_REGISTRY, userIdField: 'user.id' },
  });
  confluentPkg = await packageService({
    stage: 'prod',
    paramsFile: 'examples/params.prod-msk-esm.yml',
    overrides: {
      schemaRegistry: 'confluent',
      schemaRegistryUri: CONFLUENT_URL,
      schemaRegistrySecretArn: REGISTRY_SECRET,
      schemaRegistryRootCaSecretArn: REGISTRY_CA,
    },
  });
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
}, 360_000);

afterAll(() => {
  protobufPkg?.cleanUp();
  gluePkg?.cleanUp();
  confluentPkg?.cleanUp();
});

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

describe('serverless.yml, prod stage, trigger msk-esm with a schema registry', () => {
  const mapping = (pkg: Packaged) =>
    pkg.template.ofType('AWS::Lambda::EventSourceMapping')[0]?.properties ?? {};

  it('gives the mapping an AWS Glue registry: values validated and handed over as JSON', () => {
    // Act
    const props = mapping(gluePkg);

    // Assess: provisioned pollers (the registry needs provisioned mode), the registry, VALUE only.
    expect(props.ProvisionedPollerConfig).toEqual({ MinimumPollers: 1, MaximumPollers: 4 });
    expect(props.AmazonManagedKafkaEventSourceConfig).toEqual({
      ConsumerGroupId: 'sessionizer-prod',
      SchemaRegistryConfig: {
        SchemaRegistryURI: GLUE_REGISTRY,
        EventRecordFormat: 'JSON',
        SchemaValidationConfigs: [{ Attribute: 'VALUE' }],
      },
    });
    // The function reads the JSON the mapping hands over, with the field mapping.
    const env = (gluePkg.template.resource('SessionizeLambdaFunction').properties.Environment as JsonObject)
      .Variables as Record<string, string>;
    expect(env).toMatchObject({ VALUE_FORMAT: 'text', USER_ID_FIELD: 'user.id' });
  });

  it('lets the role read that Glue registry and its schema versions, and nothing of any other', () => {
    // Prepare
    const statements = statementsOf(gluePkg.template.resource('SessionizeRole'));

    // Assess
    expect(privilegeProblems(statements)).toEqual([]);
    expect(grants(statements).SchemaRegistry).toEqual({
      actions: ['glue:GetRegistry'],
      resources: [GLUE_REGISTRY],
    });
    expect(grants(statements).SchemaVersions).toEqual({
      actions: ['glue:GetSchemaVersion'],
      resources: [GLUE_REGISTRY, 'arn:aws:glue:us-east-1:111122223333:schema/sessionizer-prod/*'],
    });
    expect(grants(statements).SchemaRegistrySecret).toBeUndefined();
    expect(statementsOf(gluePkg.template.resource('SweepRole')).some((s) => s.sid.startsWith('Schema'))).toBe(
      false,
    );
  });

  it('gives the mapping a Confluent registry with its credentials and CA secrets, and the role those two secrets', () => {
    // Prepare
    const statements = statementsOf(confluentPkg.template.resource('SessionizeRole'));

    // Assess
    expect(mapping(confluentPkg).AmazonManagedKafkaEventSourceConfig).toEqual({
      ConsumerGroupId: 'sessionizer-prod',
      SchemaRegistryConfig: {
        SchemaRegistryURI: CONFLUENT_URL,
        EventRecordFormat: 'JSON',
        SchemaValidationConfigs: [{ Attribute: 'VALUE' }],
        AccessConfigs: [
          { Type: 'BASIC_AUTH', URI: REGISTRY_SECRET },
          { Type: 'SERVER_ROOT_CA_CERTIFICATE', URI: REGISTRY_CA },
        ],
      },
    });
    expect(privilegeProblems(statements)).toEqual([]);
    expect(grants(statements).SchemaRegistrySecret).toEqual({
      actions: ['secretsmanager:GetSecretValue'],
      resources: [REGISTRY_SECRET],
    });
    expect(grants(statements).SchemaRegistryRootCa).toEqual({
      actions: ['secretsmanager:GetSecretValue'],
      resources: [REGISTRY_CA],
    });
    expect(statements.flatMap((s) => s.actions).filter((a) => a.startsWith('glue:'))).toEqual([]);
  });
});
