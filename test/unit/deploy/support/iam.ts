import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { REPO } from './package.ts';
import type { Json, JsonObject, Resource } from './template.ts';

export interface Statement {
  readonly sid: string;
  readonly effect: string;
  readonly actions: string[];
  readonly resources: string[];
  readonly condition: Json | undefined;
}

/** The statements of a role's inline policies, Action and Resource always as lists. */
export function statementsOf(role: Resource): Statement[] {
  const policies = (role.properties.Policies ?? []) as JsonObject[];
  return policies.flatMap((policy) => {
    const document = policy.PolicyDocument as JsonObject;
    return (document.Statement as JsonObject[]).map((s) => ({
      sid: String(s.Sid ?? ''),
      effect: String(s.Effect),
      actions: [s.Action ?? []].flat().map(String),
      resources: [s.Resource ?? []].flat().map((r) => (typeof r === 'string' ? r : JSON.stringify(r))),
      condition: s.Condition,
    }));
  });
}

/** Sid -> { actions, resources }, for comparing a role with what it should grant. */
export function grants(
  statements: readonly Statement[],
): Record<string, { actions: string[]; resources: string[] }> {
  return Object.fromEntries(statements.map((s) => [s.sid, { actions: s.actions, resources: s.resources }]));
}

/**
 * The network-interface actions Lambda performs with the execution role of a VPC function (the
 * Lambda developer guide's list for VPC access). Describe* support no resource-level permissions
 * and the interfaces do not exist before Lambda creates them: the one documented `*` resource
 * (docs/DEPLOY.md).
 */
export const FUNCTION_NETWORK_INTERFACE_ACTIONS = [
  'ec2:CreateNetworkInterface',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DeleteNetworkInterface',
  'ec2:AssignPrivateIpAddresses',
  'ec2:UnassignPrivateIpAddresses',
];

/** ... and what the Kafka event source mapping's pollers also do with it (sessionize only). */
export const NETWORK_INTERFACE_ACTIONS = [
  ...FUNCTION_NETWORK_INTERFACE_ACTIONS,
  'ec2:DescribeSubnets',
  'ec2:DescribeSecurityGroups',
  'ec2:DescribeVpcs',
];

/** What makes a statement broader than it must be; empty when the role is least-privilege. */
export function privilegeProblems(statements: readonly Statement[]): string[] {
  const problems: string[] = [];
  const sids = new Set<string>();
  for (const s of statements) {
    const at = s.sid || JSON.stringify(s);
    if (s.sid === '' || sids.has(s.sid)) problems.push(`${at}: every statement needs its own Sid`);
    sids.add(s.sid);
    if (s.effect !== 'Allow') problems.push(`${at}: Effect ${s.effect}`);
    if (s.actions.length === 0 || s.resources.length === 0) problems.push(`${at}: no action or no resource`);
    for (const action of s.actions) {
      if (!/^[a-z0-9-]+:[A-Za-z0-9]+$/.test(action))
        problems.push(`${at}: wildcard or malformed action ${action}`);
    }
    for (const resource of s.resources) {
      if (resource === '*') {
        const other = s.actions.filter((a) => !NETWORK_INTERFACE_ACTIONS.includes(a));
        if (other.length > 0) problems.push(`${at}: "*" resource for ${other.join(', ')}`);
      } else if (
        resource === '' ||
        // Two wildcards that name one container's contents: a bucket's objects, and the schema
        // versions of one Glue registry's schemas (which a mapping looks up by version id).
        /\*/.test(
          resource
            .replace(/^arn:aws:s3:::[a-z0-9.-]+\/\*$/, 'bucket-objects')
            .replace(/^arn:aws:glue:[a-z0-9-]+:\d{12}:schema\/[A-Za-z0-9_.-]+\/\*$/, 'registry-schemas'),
        )
      ) {
        problems.push(`${at}: resource ${JSON.stringify(resource)} is empty or has a wildcard`);
      }
    }
  }
  return problems;
}

const COMMAND_ACTIONS: Record<string, readonly string[]> = {
  GetCommand: ['dynamodb:GetItem'],
  GetItemCommand: ['dynamodb:GetItem'],
  BatchGetCommand: ['dynamodb:BatchGetItem'],
  BatchGetItemCommand: ['dynamodb:BatchGetItem'],
  PutCommand: ['dynamodb:PutItem'],
  PutItemCommand: ['dynamodb:PutItem'],
  UpdateCommand: ['dynamodb:UpdateItem'],
  UpdateItemCommand: ['dynamodb:UpdateItem'],
  DeleteCommand: ['dynamodb:DeleteItem'],
  DeleteItemCommand: ['dynamodb:DeleteItem'],
  BatchWriteCommand: ['dynamodb:BatchWriteItem'],
  BatchWriteItemCommand: ['dynamodb:BatchWriteItem'],
  TransactGetCommand: ['dynamodb:GetItem'],
  TransactGetItemsCommand: ['dynamodb:GetItem'],
  ScanCommand: ['dynamodb:Scan'],
  QueryCommand: ['dynamodb:Query'],
};

/** Transactions are authorised per action inside them (DynamoDB "Using IAM with transactions"). */
const TRANSACT_ITEM_ACTIONS: Record<string, string> = {
  Put: 'dynamodb:PutItem',
  Update: 'dynamodb:UpdateItem',
  Delete: 'dynamodb:DeleteItem',
  ConditionCheck: 'dynamodb:ConditionCheckItem',
};

/**
 * lib/checkpoint/table.ts creates the table on DynamoDB Local (CreateTable, DescribeTable,
 * UpdateTimeToLive); on AWS the stack owns the table, so the functions get none of those.
 */
const LOCAL_SETUP_ONLY = ['lib/checkpoint/table.ts'];

export interface DynamoUse {
  /** IAM actions the code needs on the table. */
  readonly table: Set<string>;
  /** IAM actions the code needs on the `due` index (Query). */
  readonly index: Set<string>;
  readonly unmapped: string[];
}

/** Reads lib/ and functions/ for the DynamoDB commands the deployed code sends. */
export function dynamoActionsUsedByCode(): DynamoUse {
  const use: DynamoUse = { table: new Set(), index: new Set(), unmapped: [] };
  for (const file of sourceFiles(['lib', 'functions'])) {
    const path = relative(REPO, file);
    if (LOCAL_SETUP_ONLY.includes(path)) continue;
    const text = readFileSync(file, 'utf8');
    if (!/from '@aws-sdk\/(client-dynamodb|lib-dynamodb)'/.test(text)) continue;
    for (const [, command] of text.matchAll(/new (\w+Command)\(/g)) {
      if (command === undefined) continue;
      if (command === 'TransactWriteCommand' || command === 'TransactWriteItemsCommand') {
        for (const [item, action] of Object.entries(TRANSACT_ITEM_ACTIONS)) {
          if (new RegExp(`\\b${item}:`).test(text)) use.table.add(action);
        }
        continue;
      }
      const actions = COMMAND_ACTIONS[command];
      if (actions === undefined) use.unmapped.push(`${path}: ${command}`);
      for (const action of actions ?? []) (action === 'dynamodb:Query' ? use.index : use.table).add(action);
    }
  }
  return use;
}

export function sourceFiles(folders: readonly string[]): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) files.push(path);
    }
  };
  for (const folder of folders) walk(join(REPO, folder));
  return files;
}
