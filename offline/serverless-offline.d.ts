// serverless-offline ships no types; its `./lambda` export is the API its own event sources use.
declare module 'serverless-offline/lambda' {
  const Lambda: new (serverless: unknown, options: unknown) => unknown;
  export default Lambda;
}
