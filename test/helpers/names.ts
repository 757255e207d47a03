import { randomBytes } from 'node:crypto';

/** A name no other test uses: topics, groups, tables and schemas get one each. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}
