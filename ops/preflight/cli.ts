import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { loadStageConfig } from '../../lib/config/stage-config';
import { parseArguments } from './arguments';
import { preflightClients } from './checks';
import { failed, formatReport, runPreflight } from './preflight';
import { synthesizeTemplates } from './templates';

/**
 *   npm run preflight -- -c stage=dev [-c overrides='{"analytics":{"reservedConcurrency":null}}'] [--region eu-west-1]
 *
 * Exit 0: nothing found that would stop the deploy; 1: a check failed; 2: the account could not be asked.
 */
async function main(): Promise<number> {
  const args = parseArguments(process.argv.slice(2));
  const config = loadStageConfig(args.stage, args.overrides);
  const sts = new STSClient(args.region === undefined ? {} : { region: args.region });
  let account: string;
  let region: string;
  try {
    region = await sts.config.region();
    account = (await sts.send(new GetCallerIdentityCommand({}))).Account ?? '';
  } catch (cause) {
    console.error(
      `cannot ask AWS who you are (${(cause as Error).message}): set credentials and a region (AWS_PROFILE, AWS_REGION or --region)`,
    );
    return 2;
  }
  const templates = synthesizeTemplates(config, { account, region });
  const report = await runPreflight({
    config,
    templates,
    clients: preflightClients(region),
    account,
    region,
  });
  console.log(formatReport(report));
  return failed(report) ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    console.error(`preflight: ${error.message}`);
    process.exit(2);
  },
);
