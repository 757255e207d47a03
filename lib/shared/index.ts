export { exponentialDelay, jitteredDelay, sleep } from './backoff.ts';
export { chunkBySize } from './chunks.ts';
export { redactUrl, shownSetting } from './redact.ts';
export {
  parseJsonSecret,
  SECRET_MAX_AGE_SECONDS,
  type SecretReader,
  secretsManagerReader,
} from './secrets.ts';
