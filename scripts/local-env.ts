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

/**
 * V8 flags of the job's Node.js process, as serverless.yml gives the deployed functions in
 * NODE_OPTIONS (a test keeps the two equal): `npm start` runs serverless offline with them (its
 * worker threads, which run the functions, inherit them), and the bench runs the job with them.
 * A young generation of 32 MB semi-spaces (V8's default is 16 MB): a batch of 10,000 records keeps
 * tens of objects per record alive until its invocation ends, and with the default most of them
 * are copied by a scavenge and promoted before they die; the bench's drain spent about 13 % less
 * CPU per event with it (docs/BENCHMARKS.md, "The job's V8 flags").
 */
export const JOB_V8_FLAGS = ['--max-semi-space-size=32'] as const;
