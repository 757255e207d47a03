/**
 * Imported first by the npm scripts: environment defaults for tools that only ever run on a
 * laptop. A variable the shell sets is left alone.
 *
 * The AWS SDK prints a nine-line NodeVersionSupportWarning (its 2027 releases need Node 22) from
 * every process that creates a client: noise here, where Node 20 is supported and Lambda runs
 * nodejs24.x. Node's --disable-warning cannot filter it (the SDK emits it as a plain `Warning`);
 * this variable is the SDK's own switch. Child processes (serverless offline and its functions,
 * which receive the shell's AWS_* variables) inherit it.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
