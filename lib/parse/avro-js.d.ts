/**
 * The part of avro-js (it publishes no types) that value-schema.ts uses, and that the producer
 * script and the tests encode with: parse a schema, read and write its binary encoding, and walk
 * a type's structure.
 */
declare module 'avro-js' {
  export class Type {
    fromBuffer(buffer: Buffer): unknown;
    toBuffer(value: unknown): Buffer;
    /** The full name of a named type; with `noRef`, or for an unnamed type, its type name ("string"). */
    getName(noRef?: boolean): string | undefined;
  }
  export class Field {
    getName(): string;
    getType(): Type;
  }
  export class RecordType extends Type {
    getFields(): Field[];
  }
  export class UnionType extends Type {
    getTypes(): Type[];
  }
  export class ArrayType extends Type {
    getItemsType(): Type;
  }
  export class MapType extends Type {
    getValuesType(): Type;
  }
  const avro: {
    parse(schema: string | object): Type;
    types: {
      RecordType: typeof RecordType;
      UnionType: typeof UnionType;
      ArrayType: typeof ArrayType;
      MapType: typeof MapType;
    };
  };
  export default avro;
}
