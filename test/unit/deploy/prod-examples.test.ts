import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FUNCTION_NETWORK_INTERFACE_ACTIONS,
  grants,
  NETWORK_INTERFACE_ACTIONS,
  privilegeProblems,
  statementsOf,
} from './support/iam.ts';
import { type Packaged, packageService, REPO } from './support/package.ts';
import type { JsonObject } from './support/template.ts';

// Every example params file (examples/params.prod*.yml) packaged as an operator would: each gives
// the dashboard, the seven alarms, least-privilege roles, and a sweep that reaches the brokers the
// way the event source mapping does. Then what MSK with SASL/SCRAM (examples/params.prod-msk-
// scram.yml) changes: a param, not an edit of serverless.yml.

const EXAMPLES = readdirSync(join(REPO, 'examples'))
  .filter((name) => /^params\.prod.*\.yml$/.test(name))
  .sort();
const CLUSTER =
  'arn:aws:kafka:us-east-1:111122223333:cluster/sessionizer-prod/5e3a9c1b-7d24-4f8e-b6a0-2c9d8e7f6a51-3';
const SCRAM_SECRET = 'arn:aws:secretsmanager:us-east-1:111122223333:secret:AmazonMSK_sessionizer-prod-Ef34Gh';
const KMS_KEY = 'arn:aws:kms:us-east-1:111122223333:key/1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d';

const packaged = new Map<string, Packaged>();

beforeAll(async () => {
  // One after the other: each is a whole osls run.
  for (const name of EXAMPLES) {
    packaged.set(name, await packageService({ stage: 'prod', paramsFile: `examples/${name}` }));
  }
}, 300_000);

afterAll(() => {
  for (const pkg of packaged.values()) pkg.cleanUp();
});

const pkgOf = (name: string) => packaged.get(name) as Packaged;
const sweepEnv = (pkg: Packaged) =>
  (pkg.template.resource('SweepLambdaFunction').properties.Environment as JsonObject).Variables as Record<
    string,
    string
  >;

describe('every example params file', () => {
  it('is there: the MSK, MSK SASL/SCRAM, raw event source mapping and self-managed Kafka examples', () => {
    expect(EXAMPLES).toEqual([
      'params.prod-kafka.yml',
      'params.prod-msk-esm.yml',
      'params.prod-msk-scram.yml',
      'params.prod.yml',
    ]);
  });

  describe.each(EXAMPLES)('%s', (name) => {
    it('packages a template with the dashboard and the seven alarms', () => {
      const pkg = pkgOf(name);
      expect(pkg.template.ofType('AWS::CloudWatch::Dashboard').map((d) => d.id)).toEqual([
        'SessionizerDashboard',
      ]);
      expect(pkg.template.ofType('AWS::CloudWatch::Alarm')).toHaveLength(7);
    });

    it('has least-privilege roles: sessionize with the network interfaces its event source mapping needs', () => {
      // Prepare
      const pkg = pkgOf(name);
      const sessionize = statementsOf(pkg.template.resource('SessionizeRole'));

      // Assess
      expect(privilegeProblems(sessionize)).toEqual([]);
      expect(grants(sessionize).NetworkInterfaces?.actions).toEqual(NETWORK_INTERFACE_ACTIONS);
    });

    it("gives the sweep its own network interfaces and none of the event source mapping's Describe* actions", () => {
      // Prepare
      const sweep = statementsOf(pkgOf(name).template.resource('SweepRole'));
      const actions = sweep.flatMap((s) => s.actions);

      // Assess
      expect(privilegeProblems(sweep)).toEqual([]);
      expect(grants(sweep).NetworkInterfaces?.actions).toEqual(FUNCTION_NETWORK_INTERFACE_ACTIONS);
      for (const action of ['ec2:DescribeSubnets', 'ec2:DescribeSecurityGroups', 'ec2:DescribeVpcs']) {
        expect(actions).not.toContain(action);
      }
    });

    it('lets the sweep authenticate to the brokers as the event source mapping does, and read that secret', () => {
      // Prepare
      const pkg = pkgOf(name);
      const env = sweepEnv(pkg);
      const sweep = grants(statementsOf(pkg.template.resource('SweepRole')));
      const [mapping] = pkg.template.ofType('AWS::Lambda::EventSourceMapping');
      const access = (mapping?.properties.SourceAccessConfigurations ?? []) as JsonObject[];
      const secret = access.find(
        (a) => a.Type === 'SASL_SCRAM_512_AUTH' || a.Type === 'CLIENT_CERTIFICATE_TLS_AUTH',
      );

      // Assess
      if (secret === undefined) {
        expect(env.KAFKA_AUTH).toBe('iam');
        expect(sweep.KafkaTickerSecret).toBeUndefined();
      } else {
        expect(env.KAFKA_AUTH).toBe(secret.Type === 'SASL_SCRAM_512_AUTH' ? 'sasl-scram-512' : 'mtls');
        expect(env.KAFKA_AUTH_SECRET_ARN).toBe(secret.URI);
        expect(sweep.KafkaTickerSecret).toEqual({
          actions: ['secretsmanager:GetSecretValue'],
          resources: [secret.URI],
        });
      }
    });
  });
});

describe('MSK with SASL/SCRAM (examples/params.prod-msk-scram.yml): mskAuth: sasl-scram-512', () => {
  const scram = () => pkgOf('params.prod-msk-scram.yml');

  it('signs the event source mapping in with the SCRAM secret', () => {
    const [mapping] = scram().template.ofType('AWS::Lambda::EventSourceMapping');
    expect(mapping?.properties).toMatchObject({
      EventSourceArn: CLUSTER,
      SourceAccessConfigurations: [{ Type: 'SASL_SCRAM_512_AUTH', URI: SCRAM_SECRET }],
    });
  });

  it('gives sessionize the cluster, the secret and its key, and none of the IAM access control actions', () => {
    // Prepare
    const statements = statementsOf(scram().template.resource('SessionizeRole'));
    const granted = grants(statements);

    // Assess
    expect(granted.MskCluster).toEqual({
      actions: ['kafka:DescribeCluster', 'kafka:DescribeClusterV2', 'kafka:GetBootstrapBrokers'],
      resources: [CLUSTER],
    });
    expect(granted.KafkaAuthSecret).toEqual({
      actions: ['secretsmanager:GetSecretValue'],
      resources: [SCRAM_SECRET],
    });
    expect(granted.SecretsKmsKey).toEqual({ actions: ['kms:Decrypt'], resources: [KMS_KEY] });
    expect(statements.flatMap((s) => s.actions).filter((a) => a.startsWith('kafka-cluster:'))).toEqual([]);
    expect(Object.keys(granted)).not.toEqual(expect.arrayContaining(['MskTopic']));
  });

  it('lets the sweep find the SCRAM brokers (GetBootstrapBrokers) and sign in with the same secret', () => {
    // Prepare
    const sweep = grants(statementsOf(scram().template.resource('SweepRole')));

    // Assess
    expect(sweepEnv(scram())).toMatchObject({
      MSK_CLUSTER_ARN: CLUSTER,
      KAFKA_AUTH: 'sasl-scram-512',
      KAFKA_AUTH_SECRET_ARN: SCRAM_SECRET,
    });
    expect(sweep.MskTickerCluster).toEqual({ actions: ['kafka:GetBootstrapBrokers'], resources: [CLUSTER] });
    expect(sweep.MskTickerTopic).toBeUndefined();
    expect(sweep.SecretsKmsKey).toEqual({ actions: ['kms:Decrypt'], resources: [KMS_KEY] });
  });

  it('does the same through the raw event source mapping (trigger msk-esm)', async () => {
    // Act
    const raw = await packageService({
      stage: 'prod',
      paramsFile: 'examples/params.prod-msk-scram.yml',
      overrides: { trigger: 'msk-esm' },
    });

    // Assess
    try {
      const [mapping] = raw.template.ofType('AWS::Lambda::EventSourceMapping');
      expect(mapping?.id).toBe('SessionizeEventSourceMapping');
      expect(mapping?.properties.SourceAccessConfigurations).toEqual([
        { Type: 'SASL_SCRAM_512_AUTH', URI: SCRAM_SECRET },
      ]);
      expect(sweepEnv(raw).KAFKA_AUTH).toBe('sasl-scram-512');
    } finally {
      raw.cleanUp();
    }
  }, 60_000);
});
