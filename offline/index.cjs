'use strict';
/**
 * The osls entry of the local Kafka trigger (serverless.yml `plugins: - ./lib/offline/index.cjs`).
 *
 * osls loads a local plugin with require() (falling back to import() on ERR_REQUIRE_ESM) and needs
 * the constructor synchronously, while the trigger is TypeScript importing the project's
 * lib/kafka. So this small CommonJS class declares the hooks and loads the TypeScript through
 * tsx's API (tsx/esm/api tsImport) the first time a hook runs, i.e. only under
 * `serverless offline start`: `package`, `deploy` and `invoke local` never load tsx.
 */
const { pathToFileURL } = require('node:url');

class SessionizerOfflineKafka {
  constructor(serverless, options, utils) {
    this.serverless = serverless;
    this.options = options;
    const log = utils?.log;
    this.log = {
      info: (m) => (log ? log.notice(m) : console.log(m)),
      warn: (m) => (log ? log.warning(m) : console.warn(m)),
    };
    this.trigger = undefined;
    this.hooks = {
      // `serverless invoke local` runs the bundle in this process, after osls has set the
      // function's environment: source maps, enabled before the bundle loads, make a stack trace
      // point at functions/*.ts and lib/**/*.ts (Lambda does the same with NODE_OPTIONS=
      // --enable-source-maps); the AWS SDK's Node 20 warning is noise on a laptop (serverless.yml
      // custom.offline.environment says the same for serverless offline).
      'before:invoke:local:invoke': () => {
        process.setSourceMapsEnabled(true);
        process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
      },
      // A command that fails (`invoke local` of a handler whose module throws at load, e.g. a bad
      // setting) must end: osls then waits for the event loop to drain, and serverless-esbuild's
      // build context, disposed only after a successful invoke, would keep it alive for good.
      error: () => this.endAfterError(),
      // serverless-esbuild builds in before:offline:start:init; this runs after it.
      'offline:start:init': () => this.start(),
      // Runs before serverless-offline's own end hook (which exits): this plugin is listed first.
      'offline:start:end': () => (this.trigger ? this.trigger.stop() : undefined),
    };
  }

  async endAfterError() {
    for (const plugin of this.serverless.pluginManager?.plugins ?? []) {
      if (typeof plugin.disposeContexts === 'function') await plugin.disposeContexts().catch(() => undefined);
    }
    // Anything else still holding the process: give osls a moment to print, then exit with failure.
    setTimeout(() => process.exit(process.exitCode || 1), 2000).unref();
  }

  async start() {
    const { tsImport } = await import('tsx/esm/api');
    const { OfflineKafkaTrigger } = await tsImport('./plugin.ts', pathToFileURL(__filename).href);
    this.trigger = new OfflineKafkaTrigger(this.serverless, this.options, this.log);
    await this.trigger.start();
  }
}

module.exports = SessionizerOfflineKafka;
