'use strict';
/**
 * serverless.yml `DashboardBody: ${file(./deploy/dashboard.cjs)}`: osls calls this function while it
 * resolves the configuration (its `${file()}` source runs a .cjs file's exported function). The
 * dashboard itself is TypeScript (deploy/dashboard.ts), loaded through tsx like the offline plugin
 * (lib/offline/index.cjs); the thresholds it draws come from the same params as the alarms.
 */
const { pathToFileURL } = require('node:url');

module.exports = async ({ resolveVariable }) => {
  const { tsImport } = await import('tsx/esm/api');
  const { dashboardBody } = await tsImport('./dashboard.ts', pathToFileURL(__filename).href);
  const param = async (name) => Number(await resolveVariable(`param:${name}`));
  return dashboardBody({
    namespace: 'sessionizer',
    service: 'sessionizer',
    watermarkLagAlarmMs: await param('watermarkLagAlarmMs'),
    lateRecordsAlarmPercent: await param('lateRecordsAlarmPercent'),
    sessionizeTimeoutSeconds: await param('sessionizeTimeout'),
    sweepTimeoutSeconds: await param('sweepTimeout'),
  });
};
