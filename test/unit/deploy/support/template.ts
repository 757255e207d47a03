/**
 * Just enough CloudFormation to read the packaged template the way CloudFormation will: the
 * conditions evaluated, the resources whose condition is false dropped, `Fn::If`,
 * `AWS::NoValue`, `Fn::Join`, `Fn::Split`, `Fn::Select` and `Fn::Sub` resolved. A reference to
 * another resource stays symbolic: `{"Ref": "X"}` reads `<X>`, `{"Fn::GetAtt": ["X", "Arn"]}`
 * reads `<X.Arn>`, so `<CheckpointTable.Arn>/index/due` is what a Join of the two gives.
 */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface ResourceJson {
  readonly Type: string;
  readonly Condition?: string;
  readonly DependsOn?: string | string[];
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
  readonly Properties?: JsonObject;
}

export interface TemplateJson {
  readonly Conditions?: Record<string, Json>;
  readonly Resources: Record<string, ResourceJson>;
  readonly Outputs?: Record<string, Json>;
}

export interface Resource {
  readonly id: string;
  readonly type: string;
  readonly dependsOn: string[];
  readonly deletionPolicy: string | undefined;
  readonly updateReplacePolicy: string | undefined;
  readonly properties: JsonObject;
}

export interface Template {
  readonly conditions: ReadonlyMap<string, boolean>;
  /** The resources CloudFormation would create, properties resolved. */
  readonly resources: readonly Resource[];
  resource(id: string): Resource;
  ofType(type: string): Resource[];
}

export const PSEUDO = {
  'AWS::Region': 'us-east-1',
  'AWS::AccountId': '111122223333',
  'AWS::Partition': 'aws',
};

const NO_VALUE = Symbol('AWS::NoValue');
type Resolved = Json | typeof NO_VALUE;

export function evaluateTemplate(raw: TemplateJson): Template {
  const conditions = new Map<string, boolean>();
  const evaluating = new Set<string>();
  const condition = (name: string): boolean => {
    const known = conditions.get(name);
    if (known !== undefined) return known;
    const definition = raw.Conditions?.[name];
    if (definition === undefined) throw new Error(`Unknown condition ${name}`);
    if (evaluating.has(name)) throw new Error(`Circular condition ${name}`);
    evaluating.add(name);
    const value = truth(definition, condition);
    conditions.set(name, value);
    return value;
  };
  for (const name of Object.keys(raw.Conditions ?? {})) condition(name);

  const resources = Object.entries(raw.Resources)
    .filter(([, resource]) => resource.Condition === undefined || condition(resource.Condition))
    .map(([id, resource]): Resource => {
      const properties = resolve(resource.Properties ?? {}, condition);
      return {
        id,
        type: resource.Type,
        dependsOn: resource.DependsOn === undefined ? [] : [resource.DependsOn].flat(),
        deletionPolicy: resource.DeletionPolicy,
        updateReplacePolicy: resource.UpdateReplacePolicy,
        properties: properties as JsonObject,
      };
    });
  return {
    conditions,
    resources,
    resource: (id) => {
      const found = resources.find((r) => r.id === id);
      if (found === undefined) throw new Error(`No active resource ${id} in the template`);
      return found;
    },
    ofType: (type) => resources.filter((r) => r.type === type),
  };
}

function truth(definition: Json, condition: (name: string) => boolean): boolean {
  const [fn, args] = single(definition);
  const list = args as Json[];
  switch (fn) {
    case 'Condition':
      return condition(args as string);
    case 'Fn::Equals':
      return (
        JSON.stringify(resolve(list[0] ?? null, condition)) ===
        JSON.stringify(resolve(list[1] ?? null, condition))
      );
    case 'Fn::Not':
      return !truth(list[0] ?? null, condition);
    case 'Fn::And':
      return list.every((item) => truth(item, condition));
    case 'Fn::Or':
      return list.some((item) => truth(item, condition));
    default:
      throw new Error(`Unsupported condition function ${fn}`);
  }
}

function single(value: Json): [string, Json] {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new Error(`Not a function: ${JSON.stringify(value)}`);
  const entries = Object.entries(value);
  const [entry] = entries;
  if (entries.length !== 1 || entry === undefined)
    throw new Error(`Not a function: ${JSON.stringify(value)}`);
  return entry;
}

function resolve(value: Json, condition: (name: string) => boolean): Resolved {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    return value.map((item) => resolve(item, condition)).filter((item): item is Json => item !== NO_VALUE);
  }
  const keys = Object.keys(value);
  const key = keys.length === 1 ? keys[0] : undefined;
  if (key === 'Ref' || key === 'Condition' || key?.startsWith('Fn::')) return intrinsic(value, condition);
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(value)) {
    const r = resolve(v, condition);
    if (r !== NO_VALUE) out[k] = r;
  }
  return out;
}

function intrinsic(value: JsonObject, condition: (name: string) => boolean): Resolved {
  const [fn, args] = single(value);
  const list = Array.isArray(args) ? args : [];
  const str = (v: Json | undefined): string => {
    const r = resolve(v ?? null, condition);
    if (typeof r !== 'string') throw new Error(`${fn} expects a string, got ${JSON.stringify(r)}`);
    return r;
  };
  const arr = (v: Json | undefined): Json[] => {
    const r = resolve(v ?? null, condition);
    if (!Array.isArray(r)) throw new Error(`${fn} expects a list, got ${JSON.stringify(r)}`);
    return r;
  };
  switch (fn) {
    case 'Ref': {
      const name = args as string;
      if (name === 'AWS::NoValue') return NO_VALUE;
      return name in PSEUDO ? PSEUDO[name as keyof typeof PSEUDO] : `<${name}>`;
    }
    case 'Fn::GetAtt': {
      const [id, attribute] = typeof args === 'string' ? args.split('.') : (args as string[]);
      return `<${id}.${attribute}>`;
    }
    case 'Fn::If': {
      const [name, whenTrue, whenFalse] = list;
      return resolve((condition(name as string) ? whenTrue : whenFalse) ?? null, condition);
    }
    case 'Fn::Join':
      return arr(list[1])
        .map((item) => str(item))
        .join(str(list[0]));
    case 'Fn::Split':
      return str(list[1]).split(str(list[0]));
    case 'Fn::Select': {
      const picked = arr(list[1])[Number(resolve(list[0] ?? null, condition))];
      if (picked === undefined) throw new Error(`Fn::Select index out of range: ${JSON.stringify(list)}`);
      return picked;
    }
    case 'Fn::Sub': {
      const [text, vars] = typeof args === 'string' ? [args, {}] : (list as [string, JsonObject]);
      return text.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
        if (name in (vars ?? {})) return str((vars as JsonObject)[name]);
        if (name in PSEUDO) return PSEUDO[name as keyof typeof PSEUDO];
        return `<${name}>`;
      });
    }
    default:
      throw new Error(`Unsupported intrinsic function ${fn}`);
  }
}
