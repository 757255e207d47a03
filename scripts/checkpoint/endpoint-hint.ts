/**
 * `npm run checkpoint` talks to AWS when DYNAMODB_ENDPOINT is unset (the operator's tool, for the
 * deployed table). On a laptop without AWS credentials that ends in the SDK's "Could not load
 * credentials": say what was meant instead.
 */
export function endpointHint(message: string, env: NodeJS.ProcessEnv): string | undefined {
  if (env.DYNAMODB_ENDPOINT !== undefined || !/credential/i.test(message)) return undefined;
  return (
    'DYNAMODB_ENDPOINT is unset, so this command talks to AWS with your credentials. For the local ' +
    "job's DynamoDB Local: DYNAMODB_ENDPOINT=http://127.0.0.1:8000 npm run checkpoint -- ..."
  );
}
