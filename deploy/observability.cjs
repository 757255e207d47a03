'use strict';
/**
 * What serverless.yml takes from code while osls resolves it (its `${file(x.cjs):name}` source runs
 * the exported function `name`):
 *
 * - `dashboardBody`: the dashboard, built by deploy/dashboard.ts (TypeScript, loaded through tsx
 *   like the offline plugin, lib/offline/index.cjs); the thresholds it draws are the alarms' params.
 * - `alarmActions`: the alarms' actions, [alarmTopicArn] or [] without a topic. A list chosen here
 *   rather than a CloudFormation Fn::If, whose untaken branch would hold an empty ARN that
 *   cfn-lint rejects.
 */
const { pathToFileURL } = require('node:url');

module.exports = {
  dashboardBody: async ({ resolveVariable }) => {
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
  },
  alarmActions: async ({ resolveVariable }) => {
    const topic = String((await resolveVariable('param:alarmTopicArn')) ?? '').trim();
    return topic === '' ? [] : [topic];
  },
};
