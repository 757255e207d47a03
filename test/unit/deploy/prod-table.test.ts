import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grants, statementsOf } from './support/iam.ts';
import { type Packaged, packageService } from './support/package.ts';
import type { JsonObject } from './support/template.ts';

// The checkpoint table across the stack's life (docs/DEPLOY.md, "First deploy", "Restoring the
// checkpoint table"): examples/params.prod.yml as it is redeployed after the first deploy
// (deletion protection on), and after a point-in-time restore to a new table (restoredTable).

const RESTORED = 'sessionizer-prod-checkpoints-restored-20270115';
const RESTORED_ARN = `arn:aws:dynamodb:us-east-1:111122223333:table/${RESTORED}`;

let redeploy: Packaged;
let restored: Packaged;

beforeAll(async () => {
  redeploy = await packageService({
    stage: 'prod',
    paramsFile: 'examples/params.prod.yml',
    overrides: { tableDeletionProtection: true },
  });
  restored = await packageService({
    stage: 'prod',
    paramsFile: 'examples/params.prod.yml',
    overrides: { tableDeletionProtection: true, restoredTable: RESTORED },
  });
}, 180_000);

afterAll(() => {
  redeploy?.cleanUp();
  restored?.cleanUp();
});

const variables = (pkg: Packaged, fn: string) =>
  (pkg.template.resource(fn).properties.Environment as JsonObject).Variables as Record<string, string>;

describe('serverless.yml, prod stage: the checkpoint table after the first deploy', () => {
  it('turns deletion protection on with tableDeletionProtection: true, keeping the retention policies', () => {
    const table = redeploy.template.resource('CheckpointTable');
    expect(table.properties.DeletionProtectionEnabled).toBe(true);
    expect([table.deletionPolicy, table.updateReplacePolicy]).toEqual(['RetainExceptOnCreate', 'Retain']);
  });
});

describe('serverless.yml, prod stage: after a point-in-time restore to a new table (restoredTable)', () => {
  it.each(['SessionizeLambdaFunction', 'SweepLambdaFunction'])('%s uses the restored table', (fn) => {
    expect(variables(restored, fn).CHECKPOINT_TABLE).toBe(RESTORED);
  });

  it('grants both roles the restored table, and nothing on the stack table any more', () => {
    // Prepare
    const sessionize = grants(statementsOf(restored.template.resource('SessionizeRole')));
    const sweep = grants(statementsOf(restored.template.resource('SweepRole')));

    // Assess
    expect(sessionize.CheckpointTable?.resources).toEqual([RESTORED_ARN]);
    expect(sweep.CheckpointTableRead?.resources).toEqual([RESTORED_ARN]);
    expect(JSON.stringify(restored.template.ofType('AWS::IAM::Role'))).not.toContain('<CheckpointTable.Arn>');
  });

  it('keeps the stack table unchanged (retained, unused), so the switch replaces nothing', () => {
    expect(restored.template.resource('CheckpointTable').properties).toEqual(
      redeploy.template.resource('CheckpointTable').properties,
    );
  });

  it('names the table in use in the stack output', () => {
    expect(restored.raw.Outputs?.CheckpointTableName).toEqual({ Value: RESTORED });
    expect(redeploy.raw.Outputs?.CheckpointTableName).toEqual({ Value: 'sessionizer-prod-checkpoints' });
  });
});
