import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { SchemaConfigValue } from '@aws-lambda-powertools/kafka/types';
import avro, { type Type as AvroType } from 'avro-js';
import protobuf from 'protobufjs';
import { ConfigError } from '../errors.ts';
import type { SchemaSettings } from './types.ts';

/**
 * The schema of a schema format, loaded once per container from the file VALUE_SCHEMA_FILE names
 * (docs/DESIGN.md section 2, "Schema formats"), as the Powertools Kafka consumer takes it.
 */
export interface ValueSchema {
  readonly format: 'avro' | 'protobuf';
  /** For details: `the Avro schema schemas/user-activity.avsc`. */
  readonly description: string;
  /** The registry ids the file stands for (VALUE_SCHEMA_IDS). */
  readonly ids: ReadonlySet<string>;
  /** The `value` part of Powertools' SchemaConfig. */
  readonly powertools: SchemaConfigValue;
  /** The decoded record as the field mapping reads it. */
  plain(decoded: unknown): unknown;
  /**
   * Protobuf: the message indexes a record of the configured message carries (wire-format.ts,
   * readMessageIndexes), per registry. Undefined for Avro, whose payload has none.
   */
  readonly messageIndexes?: { readonly confluent: readonly number[]; readonly glue: number } | undefined;
}

/**
 * Reads and checks the schema file: relative paths from the working directory, which is the
 * package root on Lambda (/var/task) and under `serverless invoke local` (serverless-esbuild's
 * build folder, where package.patterns copies the file), and the repository under `serverless
 * offline`. Throws a ConfigError naming the setting when the file cannot be read or is not a
 * schema of the format, so a cold start stops with it as with any other bad setting.
 */
export function loadValueSchema(settings: SchemaSettings, root: string = process.cwd()): ValueSchema {
  const path = resolve(root, settings.schemaFile);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw invalid('VALUE_SCHEMA_FILE', settings.schemaFile, `cannot be read (${path}): ${messageOf(error)}`);
  }
  const ids = new Set(settings.schemaIds);
  return settings.format === 'avro' ? avroSchema(settings, text, ids) : protobufSchema(settings, path, ids);
}

function avroSchema(settings: SchemaSettings, text: string, ids: ReadonlySet<string>): ValueSchema {
  let type: AvroType;
  try {
    type = avro.parse(JSON.parse(text) as object);
  } catch (error) {
    throw invalid('VALUE_SCHEMA_FILE', settings.schemaFile, `is not an Avro schema: ${messageOf(error)}`);
  }
  if (!(type instanceof avro.types.RecordType)) {
    throw invalid(
      'VALUE_SCHEMA_FILE',
      settings.schemaFile,
      'is an Avro schema, but not of a record: no field to map',
    );
  }
  return {
    format: 'avro',
    description: `the Avro schema ${settings.schemaFile}`,
    ids,
    // Powertools passes `schema` to avro-js's parse() for every record; parse() returns a Type it
    // is given as it is (avro-js createType), so the file is parsed once here instead of once per
    // record (about 50 µs each, half a second for a batch of 10,000).
    powertools: { type: 'avro', schema: type as unknown as string },
    plain: (decoded) => plainAvro(type, decoded),
  };
}

function protobufSchema(settings: SchemaSettings, path: string, ids: ReadonlySet<string>): ValueSchema {
  let root: protobuf.Root;
  try {
    // keepCase: field paths name the fields as the .proto writes them (user_id, not userId).
    root = new protobuf.Root().loadSync(path, { keepCase: true });
    root.resolveAll();
  } catch (error) {
    throw invalid('VALUE_SCHEMA_FILE', settings.schemaFile, `is not a Protobuf schema: ${messageOf(error)}`);
  }
  const messages = messageNames(root);
  let name = settings.schemaMessage;
  if (name === undefined) {
    if (messages.length !== 1) {
      throw invalid(
        'VALUE_SCHEMA_MESSAGE',
        '',
        `is required: ${settings.schemaFile} defines ${messages.length} messages (${messages.join(', ')}); name the value's`,
      );
    }
    name = messages[0] as string;
  }
  let type: protobuf.Type;
  try {
    type = root.lookupType(name);
  } catch {
    throw invalid(
      'VALUE_SCHEMA_MESSAGE',
      name,
      `is not a message of ${settings.schemaFile} (${messages.join(', ')})`,
    );
  }
  const options: protobuf.IConversionOptions = { longs: String, enums: String, bytes: String };
  return {
    messageIndexes: { confluent: confluentPath(type), glue: glueIndex(root, type) },
    format: 'protobuf',
    description: `the Protobuf message ${type.fullName.slice(1)} of ${settings.schemaFile}`,
    ids,
    powertools: { type: 'protobuf', schema: type },
    // int64 fields as decimal strings, which the event time rules read like quoted numbers.
    plain: (decoded) => type.toObject(decoded as protobuf.Message, options),
  };
}

/**
 * An Avro value as plain data: avro-js hands a union's branch over wrapped in an object named
 * after the branch's type ({"string": "user_A"}, {"sessionizer.User": {...}}), which a field path
 * written against the schema ("user.id") would not expect. Walked along the schema, so a record
 * with a single field is never taken for such a wrapper.
 */
function plainAvro(type: AvroType, value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Buffer.isBuffer(value)) return value;
  if (type instanceof avro.types.UnionType) {
    const [branchName] = Object.keys(value);
    if (branchName === undefined) return value;
    const branch = type.getTypes().find((t) => (t.getName() ?? t.getName(true)) === branchName);
    const inner = (value as Record<string, unknown>)[branchName];
    return branch === undefined ? inner : plainAvro(branch, inner);
  }
  if (type instanceof avro.types.RecordType) {
    const plain: Record<string, unknown> = {};
    for (const field of type.getFields()) {
      plain[field.getName()] = plainAvro(
        field.getType(),
        (value as Record<string, unknown>)[field.getName()],
      );
    }
    return plain;
  }
  if (type instanceof avro.types.ArrayType && Array.isArray(value)) {
    return value.map((item) => plainAvro(type.getItemsType(), item));
  }
  if (type instanceof avro.types.MapType) {
    const plain: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) plain[key] = plainAvro(type.getValuesType(), item);
    return plain;
  }
  return value;
}

/** Confluent's index path of a message: its position among its parent's messages, from the top down. */
function confluentPath(type: protobuf.Type): number[] {
  const path: number[] = [];
  let current: protobuf.ReflectionObject = type;
  while (current.parent !== null) {
    const parent: protobuf.Namespace = current.parent;
    const messages: protobuf.ReflectionObject[] = parent.nestedArray.filter(
      (nested) => nested instanceof protobuf.Type,
    );
    path.unshift(messages.indexOf(current));
    if (!(parent instanceof protobuf.Type)) break; // the file's level: the package, or the root
    current = parent;
  }
  return path;
}

/** Glue's index of a message: its position among all the file's messages sorted by full name. */
function glueIndex(root: protobuf.Root, type: protobuf.Type): number {
  return messageNames(root).sort().indexOf(type.fullName.slice(1));
}

/** Every message type of the file, nested ones included, by full name without the leading dot. */
function messageNames(namespace: protobuf.NamespaceBase): string[] {
  const names: string[] = [];
  for (const nested of namespace.nestedArray) {
    if (nested instanceof protobuf.Type) names.push(nested.fullName.slice(1));
    if (nested instanceof protobuf.Namespace || nested instanceof protobuf.Type)
      names.push(...messageNames(nested));
  }
  return names;
}

function invalid(setting: string, value: string, problem: string): ConfigError {
  return new ConfigError(`Invalid configuration: ${setting}=${JSON.stringify(value)}: ${problem}`);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
