import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grants, privilegeProblems, statementsOf } from './support/iam.ts';
import { type Packaged, packageService } from './support/package.ts';

// The two other triggers of the prod stage (docs/DEPLOY.md, "Choosing the trigger"), packaged
// once each for the file: `msk-esm` (the raw event source mapping, from examples/params.prod.yml
// with its options set) and `kafka` (self-managed Kafka, examples/params.prod-kafka.yml).

const CLUSTER =
  'arn:aws:kafka:us-east-1:111122223333:cluster/sessionizer-prod/5e3a9c1b-7d24-4f8e-b6a0-2c9d8e7f6a51-3';
const BUCKET = 'arn:aws:s3:::sessionizer-prod-failed-batches';
const KAFKA_SECRET = 'arn:aws:secretsmanager:us-east-1:111122223333:secret:sessionizer/prod/kafka-Ef34Gh';
const KMS_KEY = 'arn:aws:kms:us-east-1:111122223333:key/1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d';

let raw: Packaged;
let kafka: Packaged;

beforeAll(async () => {
  // One after the other: each is a whole osls run (about 2 s).
  raw = await packageService({
    stage: 'prod',
    paramsFile: 'examples/params.prod.yml',
    overrides: {
      trigger: 'msk-esm',
      startingPosition: 'AT_TIMESTAMP',
      startingPositionTimestamp: 1732435200,
      minimumPollers: 2,
      maximumPollers: 8,
      maximumRetryAttempts: 100,
      maximumRecordAgeInSeconds: 86_400,
      bisectBatchOnFunctionError: true,
      onFailureBucketArn: BUCKET,
    },
  });
  kafka = await packageService({ stage: 'prod', paramsFile: 'examples/params.prod-kafka.yml' });
}, 180_000);

afterAll(() => {
  raw?.cleanUp();
  kafka?.cleanUp();
});

describe('serverless.yml, prod stage, trigger msk-esm (raw event source mapping)', () => {
  it('replaces the msk event by one AWS::Lambda::EventSourceMapping with every option set', () => {
    // Prepare
    const mappings = raw.template.ofType('AWS::Lambda::EventSourceMapping');

    // Assess
    expect(mappings.map((m) => m.id)).toEqual(['SessionizeEventSourceMapping']);
    expect(mappings[0]?.dependsOn).toEqual(['SessionizeRole']);
    expect(mappings[0]?.properties).toEqual({
      FunctionName: '<SessionizeLambdaFunction.Arn>',
      EventSourceArn: CLUSTER,
      Topics: ['user_activity'],
      AmazonManagedKafkaEventSourceConfig: { ConsumerGroupId: 'sessionizer-prod' },
      StartingPosition: 'AT_TIMESTAMP',
      StartingPositionTimestamp: 1732435200,
      BatchSize: 1000,
      MaximumBatchingWindowInSeconds: 1,
      ProvisionedPollerConfig: { MinimumPollers: 2, MaximumPollers: 8 },
      MaximumRetryAttempts: 100,
      MaximumRecordAgeInSeconds: 86_400,
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: { OnFailure: { Destination: BUCKET } },
    });
  });

  it('lets the role write discarded batches to that bucket only, and keeps the MSK grants', () => {
    // Prepare
    const statements = statementsOf(raw.template.resource('SessionizeRole'));
    const granted = grants(statements);

    // Assess
    expect(privilegeProblems(statements)).toEqual([]);
    expect(granted.OnFailureBucketObjects).toEqual({ actions: ['s3:PutObject'], resources: [`${BUCKET}/*`] });
    expect(granted.OnFailureBucket).toEqual({ actions: ['s3:ListBucket'], resources: [BUCKET] });
    expect(Object.keys(granted)).toEqual(
      expect.arrayContaining(['MskCluster', 'MskTopic', 'MskConsumerGroup']),
    );
  });

  it('gives the sweep only what its idle ticks need of the cluster, nothing of the event source mapping', () => {
    const sids = statementsOf(raw.template.resource('SweepRole')).map((s) => s.sid);
    expect(sids).toEqual([
      'Logs',
      'CheckpointTableRead',
      'NetworkInterfaces',
      'MskTickerCluster',
      'MskTickerTopic',
    ]);
  });
});

describe('serverless.yml, prod stage, trigger kafka (self-managed, examples/params.prod-kafka.yml)', () => {
  it('is one self-managed Kafka event source mapping reaching the brokers through the VPC with SASL/SCRAM', () => {
    // Prepare
    const mappings = kafka.template.ofType('AWS::Lambda::EventSourceMapping');

    // Assess
    expect(mappings).toHaveLength(1);
    expect(mappings[0]?.properties).toEqual({
      FunctionName: '<SessionizeLambdaFunction.Arn>',
      SelfManagedEventSource: { Endpoints: { KafkaBootstrapServers: kafka.params.kafkaBootstrapServers } },
      Topics: ['user_activity'],
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 1000,
      MaximumBatchingWindowInSeconds: 1,
      SelfManagedKafkaEventSourceConfig: { ConsumerGroupId: 'sessionizer-prod' },
      SourceAccessConfigurations: [
        { Type: 'VPC_SUBNET', URI: 'subnet:subnet-0a1b2c3d4e5f60718' },
        { Type: 'VPC_SUBNET', URI: 'subnet:subnet-0f1e2d3c4b5a69788' },
        { Type: 'VPC_SECURITY_GROUP', URI: 'security_group:sg-0123456789abcdef0' },
        { Type: 'SASL_SCRAM_512_AUTH', URI: KAFKA_SECRET },
      ],
    });
  });

  it('uses a client certificate instead when kafkaAuth is mtls', async () => {
    // Act
    const mtls = await packageService({
      stage: 'prod',
      paramsFile: 'examples/params.prod-kafka.yml',
      overrides: { kafkaAuth: 'mtls' },
    });

    // Assess
    try {
      const [mapping] = mtls.template.ofType('AWS::Lambda::EventSourceMapping');
      expect(mapping?.properties.SourceAccessConfigurations).toContainEqual({
        Type: 'CLIENT_CERTIFICATE_TLS_AUTH',
        URI: KAFKA_SECRET,
      });
      expect(JSON.stringify(mapping?.properties)).not.toContain('SASL');
    } finally {
      mtls.cleanUp();
    }
  }, 60_000);

  it('lets sessionize read the Kafka secret and nothing of MSK; both decrypt secrets only via Secrets Manager', () => {
    // Prepare
    const sessionize = statementsOf(kafka.template.resource('SessionizeRole'));
    const sweep = statementsOf(kafka.template.resource('SweepRole'));
    const kms = {
      actions: ['kms:Decrypt'],
      resources: [KMS_KEY],
    };

    // Assess
    expect(privilegeProblems(sessionize)).toEqual([]);
    expect(privilegeProblems(sweep)).toEqual([]);
    expect(sessionize.flatMap((s) => s.actions).filter((a) => a.startsWith('kafka'))).toEqual([]);
    expect(grants(sessionize).KafkaAuthSecret).toEqual({
      actions: ['secretsmanager:GetSecretValue'],
      resources: [KAFKA_SECRET],
    });
    expect(grants(sessionize).SecretsKmsKey).toEqual(kms);
    expect(grants(sweep).SecretsKmsKey).toEqual(kms);
    expect(grants(sweep).KafkaAuthSecret).toBeUndefined();
    for (const s of [...sessionize, ...sweep].filter((x) => x.sid === 'SecretsKmsKey')) {
      expect(s.condition).toEqual({
        StringEquals: { 'kms:ViaService': 'secretsmanager.us-east-1.amazonaws.com' },
      });
    }
  });
});
