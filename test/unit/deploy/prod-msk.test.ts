import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointTableDefinition, TTL_ATTRIBUTE } from '../../../lib/checkpoint/index.ts';
import { JOB_V8_FLAGS } from '../../../scripts/local-env.ts';
import { loadHandler, providedByRuntime, staticImports } from './support/bundle.ts';
import {
  dynamoActionsUsedByCode,
  FUNCTION_NETWORK_INTERFACE_ACTIONS,
  grants,
  NETWORK_INTERFACE_ACTIONS,
  privilegeProblems,
  sourceFiles,
  statementsOf,
} from './support/iam.ts';
import { type Packaged, packageService } from './support/package.ts';
import type { JsonObject } from './support/template.ts';

// `osls package --stage prod` with examples/params.prod.yml (trigger: msk), run once for the
// file; every test reads the CloudFormation template and the zips it wrote, as CloudFormation
// will see them (conditions evaluated, see support/template.ts).

const CLUSTER =
  'arn:aws:kafka:us-east-1:111122223333:cluster/sessionizer-prod/5e3a9c1b-7d24-4f8e-b6a0-2c9d8e7f6a51-3';
const TOPIC_ARN =
  'arn:aws:kafka:us-east-1:111122223333:topic/sessionizer-prod/5e3a9c1b-7d24-4f8e-b6a0-2c9d8e7f6a51-3/user_activity';
const GROUP_ARN =
  'arn:aws:kafka:us-east-1:111122223333:group/sessionizer-prod/5e3a9c1b-7d24-4f8e-b6a0-2c9d8e7f6a51-3/sessionizer-prod';
const DATABASE_SECRET =
  'arn:aws:secretsmanager:us-east-1:111122223333:secret:sessionizer/prod/database-Ab12Cd';
const TABLE_NAME = 'sessionizer-prod-checkpoints';
const FUNCTIONS = ['sessionize', 'sweep'] as const;
const MAX_ZIP_BYTES = 5 * 1024 * 1024;

/** Environment keys Lambda reserves: setting one fails the deployment. */
const RESERVED_ENV = [
  '_HANDLER',
  '_X_AMZN_TRACE_ID',
  'AWS_DEFAULT_REGION',
  'AWS_REGION',
  'AWS_EXECUTION_ENV',
  'AWS_LAMBDA_FUNCTION_NAME',
  'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
  'AWS_LAMBDA_FUNCTION_VERSION',
  'AWS_LAMBDA_INITIALIZATION_TYPE',
  'AWS_LAMBDA_LOG_GROUP_NAME',
  'AWS_LAMBDA_LOG_STREAM_NAME',
  'AWS_ACCESS_KEY',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_LAMBDA_RUNTIME_API',
  'LAMBDA_TASK_ROOT',
  'LAMBDA_RUNTIME_DIR',
];

let pkg: Packaged;

beforeAll(async () => {
  pkg = await packageService({ stage: 'prod', paramsFile: 'examples/params.prod.yml' });
}, 180_000);

afterAll(() => pkg?.cleanUp());

const fn = (name: string) => pkg.template.resource(`${name[0]?.toUpperCase()}${name.slice(1)}LambdaFunction`);
const variables = (name: string) =>
  ((fn(name).properties.Environment as JsonObject).Variables ?? {}) as Record<string, unknown>;
const role = (name: string) =>
  statementsOf(pkg.template.resource(`${name[0]?.toUpperCase()}${name.slice(1)}Role`));

describe('serverless.yml, prod stage with examples/params.prod.yml', () => {
  describe('functions', () => {
    it.each(FUNCTIONS)('%s runs nodejs24.x on arm64 with its own role, in the VPC of the params', (name) => {
      // Prepare
      const props = fn(name).properties;

      // Assess
      expect(props).toMatchObject({
        FunctionName: `sessionizer-prod-${name}`,
        Handler: `functions/${name}.handler`,
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Role: `<${name[0]?.toUpperCase()}${name.slice(1)}Role.Arn>`,
        VpcConfig: {
          SubnetIds: pkg.params.subnetIds,
          SecurityGroupIds: pkg.params.securityGroupIds,
        },
      });
    });

    it('gives sessionize a timeout the Kafka event source allows (at most 14 min 59 s)', () => {
      expect(fn('sessionize').properties.Timeout).toBeLessThanOrEqual(899);
    });

    it('reserves concurrency 1 for the sweep (one at a time, never starved) and none for sessionize', () => {
      expect(fn('sweep').properties.ReservedConcurrentExecutions).toBe(1);
      expect(fn('sessionize').properties.ReservedConcurrentExecutions).toBeUndefined();
    });

    it.each(FUNCTIONS)('%s keeps its logs 30 days in its own log group', (name) => {
      const group = pkg.template.resource(`${name[0]?.toUpperCase()}${name.slice(1)}LogGroup`);
      expect(group.properties).toEqual({
        LogGroupName: `/aws/lambda/sessionizer-prod-${name}`,
        RetentionInDays: 30,
      });
    });
  });

  describe('sessionize trigger', () => {
    it('is one MSK event source mapping with the topic, batching, start and consumer group of the params', () => {
      // Prepare
      const mappings = pkg.template.ofType('AWS::Lambda::EventSourceMapping');

      // Assess
      expect(mappings).toHaveLength(1);
      expect(mappings[0]?.properties).toEqual({
        EventSourceArn: CLUSTER,
        FunctionName: '<SessionizeLambdaFunction.Arn>',
        Topics: ['user_activity'],
        BatchSize: 1000,
        MaximumBatchingWindowInSeconds: 1,
        StartingPosition: 'TRIM_HORIZON',
        AmazonManagedKafkaEventSourceConfig: { ConsumerGroupId: 'sessionizer-prod' },
      });
    });

    it('is created after the role that lets it read the cluster', () => {
      expect(pkg.template.ofType('AWS::Lambda::EventSourceMapping')[0]?.dependsOn).toContain(
        'SessionizeRole',
      );
    });
  });

  describe('sweep schedule', () => {
    it('invokes the sweep every minute', () => {
      // Prepare
      const rules = pkg.template.ofType('AWS::Events::Rule');
      const permission = pkg.template
        .ofType('AWS::Lambda::Permission')
        .find((p) => p.properties.FunctionName === '<SweepLambdaFunction.Arn>');

      // Assess
      expect(rules).toHaveLength(1);
      expect(rules[0]?.properties).toMatchObject({
        ScheduleExpression: 'rate(1 minute)',
        State: 'ENABLED',
        Targets: [{ Arn: '<SweepLambdaFunction.Arn>' }],
      });
      expect(permission?.properties).toMatchObject({
        Action: 'lambda:InvokeFunction',
        Principal: 'events.amazonaws.com',
        SourceArn: `<${rules[0]?.id}.Arn>`,
      });
    });
  });

  describe('checkpoint table', () => {
    it('has the key of lib/checkpoint/table.ts and no index, billed on demand', () => {
      // Prepare
      const local = checkpointTableDefinition(TABLE_NAME);
      const table = pkg.template.resource('CheckpointTable');

      // Assess
      expect(table.properties).toMatchObject({
        TableName: local.TableName,
        BillingMode: local.BillingMode,
        AttributeDefinitions: local.AttributeDefinitions,
        KeySchema: local.KeySchema,
      });
      expect(table.properties.GlobalSecondaryIndexes).toBeUndefined();
      expect(local.GlobalSecondaryIndexes).toBeUndefined();
    });

    it('expires finished state by TTL, has point-in-time recovery and encryption', () => {
      expect(pkg.template.resource('CheckpointTable').properties).toMatchObject({
        TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
      });
    });

    it('is kept when the stack is deleted or the table replaced, deleted only by the rollback of the deploy that created it', () => {
      const table = pkg.template.resource('CheckpointTable');
      expect([table.deletionPolicy, table.updateReplacePolicy]).toEqual(['RetainExceptOnCreate', 'Retain']);
    });

    it('leaves deletion protection off for the first deploy, which could not roll back a protected table', () => {
      expect(pkg.params.tableDeletionProtection).toBe(false);
      expect(pkg.template.resource('CheckpointTable').properties.DeletionProtectionEnabled).toBe(false);
    });
  });

  describe('IAM', () => {
    it('has one role per function and no other role, managed policy or boundary', () => {
      const roles = pkg.template.ofType('AWS::IAM::Role');
      expect(roles.map((r) => r.id).sort()).toEqual(['SessionizeRole', 'SweepRole']);
      for (const r of roles) {
        expect(r.properties.ManagedPolicyArns).toBeUndefined();
        expect(r.properties.AssumeRolePolicyDocument).toEqual({
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
          ],
        });
      }
    });

    it.each(FUNCTIONS)('%s: no wildcard action, no "*" resource beyond the network interfaces', (name) => {
      expect(privilegeProblems(role(name))).toEqual([]);
    });

    it('sessionize may write its logs, use the table, read the database secret and read the MSK topic', () => {
      expect(grants(role('sessionize'))).toEqual({
        Logs: {
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: ['<SessionizeLogGroup.Arn>'],
        },
        CheckpointTable: {
          actions: [
            'dynamodb:GetItem',
            'dynamodb:BatchGetItem',
            'dynamodb:PutItem',
            'dynamodb:UpdateItem',
            'dynamodb:BatchWriteItem',
          ],
          resources: ['<CheckpointTable.Arn>'],
        },
        DatabaseSecret: { actions: ['secretsmanager:GetSecretValue'], resources: [DATABASE_SECRET] },
        NetworkInterfaces: { actions: NETWORK_INTERFACE_ACTIONS, resources: ['*'] },
        MskCluster: {
          actions: [
            'kafka:DescribeCluster',
            'kafka:DescribeClusterV2',
            'kafka:GetBootstrapBrokers',
            'kafka-cluster:Connect',
            'kafka-cluster:DescribeClusterDynamicConfiguration',
          ],
          resources: [CLUSTER],
        },
        MskTopic: {
          actions: ['kafka-cluster:DescribeTopic', 'kafka-cluster:ReadData'],
          resources: [TOPIC_ARN],
        },
        MskConsumerGroup: {
          actions: ['kafka-cluster:DescribeGroup', 'kafka-cluster:AlterGroup'],
          resources: [GROUP_ARN],
        },
      });
    });

    it('sweep reads the partition items and writes idle ticks to the topic; no database, no consumer group', () => {
      expect(grants(role('sweep'))).toEqual({
        Logs: { actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: ['<SweepLogGroup.Arn>'] },
        CheckpointTableRead: { actions: ['dynamodb:BatchGetItem'], resources: ['<CheckpointTable.Arn>'] },
        // Its own ENIs (it runs in the VPC), not the event source mapping's Describe* actions.
        NetworkInterfaces: { actions: FUNCTION_NETWORK_INTERFACE_ACTIONS, resources: ['*'] },
        MskTickerCluster: {
          actions: ['kafka:GetBootstrapBrokers', 'kafka-cluster:Connect'],
          resources: [CLUSTER],
        },
        MskTickerTopic: {
          actions: ['kafka-cluster:DescribeTopic', 'kafka-cluster:WriteData'],
          resources: [TOPIC_ARN],
        },
      });
    });

    it('grants exactly the DynamoDB actions the code in lib/ and functions/ sends', () => {
      // Prepare
      const used = dynamoActionsUsedByCode();
      const granted = grants(role('sessionize'));

      // Assess
      expect(used.unmapped, 'a DynamoDB command support/iam.ts does not know yet').toEqual([]);
      expect(new Set(granted.CheckpointTable?.actions)).toEqual(used.table);
      expect(used.index).toEqual(new Set());
    });
  });

  describe('environment', () => {
    it.each(FUNCTIONS)(
      '%s gets the database (sessionize only) as a secret ARN, never a URL or a password',
      (name) => {
        // Prepare
        const env = variables(name);

        // Assess
        expect(env.DATABASE_SECRET_ARN).toBe(name === 'sessionize' ? DATABASE_SECRET : undefined);
        expect(env).not.toHaveProperty('DATABASE_URL');
        expect(env).not.toHaveProperty('DYNAMODB_ENDPOINT');
        for (const [key, value] of Object.entries(env)) {
          expect(typeof value, key).toBe('string');
          expect(key, key).not.toMatch(/PASSWORD|TOKEN|PRIVATE|(SECRET|KEY)$/);
          expect(String(value), key).not.toMatch(/:\/\/[^/\s]*:[^/\s]*@|password/i);
        }
      },
    );

    it.each(FUNCTIONS)('%s sets no variable Lambda reserves', (name) => {
      expect(Object.keys(variables(name)).filter((key) => RESERVED_ENV.includes(key))).toEqual([]);
    });

    it.each(FUNCTIONS)('%s names the table and topic the stack and its trigger use', (name) => {
      expect(variables(name)).toMatchObject({ CHECKPOINT_TABLE: TABLE_NAME, KAFKA_TOPIC: 'user_activity' });
    });

    it('sets only variables the code reads (lib/, functions/) and NODE_OPTIONS', () => {
      // Prepare
      const code = sourceFiles(['lib', 'functions'])
        .map((file) => readFileSync(file, 'utf8'))
        .join('\n');
      const keys = new Set([...Object.keys(variables('sessionize')), ...Object.keys(variables('sweep'))]);

      // Assess
      const unread = [...keys].filter(
        (key) => key !== 'NODE_OPTIONS' && !new RegExp(`\\b${key}\\b`).test(code),
      );
      expect(unread, 'set in serverless.yml but read nowhere in lib/ or functions/').toEqual([]);
    });

    it.each(FUNCTIONS)(
      "%s runs with the job's V8 flags, as npm start and the bench do (scripts/local-env.ts)",
      (name) => {
        const options = String(variables(name).NODE_OPTIONS).split(/\s+/);
        expect(options).toEqual(expect.arrayContaining([...JOB_V8_FLAGS]));
      },
    );

    it('leaves no local address, dev placeholder or credential anywhere in the template', () => {
      const text = JSON.stringify(pkg.raw);
      for (const banned of ['127.0.0.1', 'localhost', '123456789012', 'postgres://', 'password']) {
        expect(text.toLowerCase(), banned).not.toContain(banned);
      }
    });
  });

  describe('artifacts', () => {
    it.each(FUNCTIONS)('%s.zip holds only its ESM bundle and source map, under 5 MB', (name) => {
      // Prepare
      const zip = pkg.zip(name);

      // Assess
      expect(zip.entries.map((e) => e.name).sort()).toEqual([
        `functions/${name}.mjs`,
        `functions/${name}.mjs.map`,
      ]);
      expect(zip.bytes).toBeLessThan(MAX_ZIP_BYTES);
    });

    it.each(FUNCTIONS)(
      '%s imports nothing but Node built-ins and the AWS SDK the runtime provides',
      (name) => {
        // Prepare
        const bundle = pkg.zip(name).entries.find((e) => e.name === `functions/${name}.mjs`);
        const imports = staticImports(bundle?.data().toString('utf8') ?? '');

        // Assess
        expect(imports).toContain('@aws-sdk/client-dynamodb');
        expect(imports.filter((specifier) => !providedByRuntime(specifier))).toEqual([]);
      },
    );

    it.each(FUNCTIONS)(
      '%s loads as Lambda loads it, with the template environment, and exports handler',
      async (name) => {
        // Prepare: everything but the secret ARN, so that no cold start reaches for Secrets Manager.
        const { DATABASE_SECRET_ARN: _, ...env } = variables(name) as Record<string, string>;

        // Act
        const result = await loadHandler(pkg.zip(name).entries, `functions/${name}.mjs`, {
          ...env,
          AWS_REGION: 'us-east-1',
        });

        // Assess
        expect(result.output).toContain('handler:function');
        expect(result.ok).toBe(true);
      },
      60_000,
    );
  });
});
