/** The preflight's command line, as the CDK CLI takes the same context: `-c stage=…`, `-c overrides=…`. */
export function parseArguments(argv: readonly string[]): {
  stage: string;
  overrides: Record<string, unknown>;
  region?: string;
} {
  const context = new Map<string, string>();
  let region: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '-c' || arg === '--context') {
      const pair = argv[++i] ?? '';
      const at = pair.indexOf('=');
      if (at < 1) throw new Error(`-c takes key=value, got "${pair}"`);
      context.set(pair.slice(0, at), pair.slice(at + 1));
    } else if (arg === '--region') {
      region = argv[++i];
      if (!region) throw new Error('--region takes a region name');
    } else {
      throw new Error(`unknown argument "${arg}": use -c stage=NAME, -c overrides=JSON, --region NAME`);
    }
  }
  const overrides = context.get('overrides');
  return {
    stage: context.get('stage') ?? 'dev',
    overrides: overrides === undefined ? {} : (JSON.parse(overrides) as Record<string, unknown>),
    ...(region === undefined ? {} : { region }),
  };
}
