/**
 * `serverless offline start` as a child process for the e2e tests: scripts/chaos/job.ts (the chaos
 * experiments run the job the same way).
 */
export {
  type JobOptions as OfflineOptions,
  type JobProcess as OfflineProcess,
  startJob as startOffline,
  withSearchPath,
} from '../../scripts/chaos/job.ts';
