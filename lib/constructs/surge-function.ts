import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Token, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { LAUNCH_WRAPPER, LAYER_ROOT, launchWrapperLayer } from '../bundling/launch-wrapper-layer';
import { assertWithin, initialSemiSpaceLimit, LIMITS, semiSpaceLimit } from '../config/limits';

export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where the bundled .avsc files are: the schema registry reads them from SURGE_SCHEMAS_DIR. */
const BUNDLED_SCHEMAS_DIR = '/var/task/schemas';

export interface SurgeFunctionProps {
  /** Handler source, relative to the project root, e.g. `functions/analytics/handler.ts`. */
  readonly entry: string;
  readonly vpc: ec2.IVpc;
  /**
   * Where the function's network interfaces go.
   * @see https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html
   * @default - the VPC's isolated subnets
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  readonly securityGroup: ec2.ISecurityGroup;
  readonly description: string;
  /**
   * The execution role. Given one, the function adds its log and network-interface statements
   * to it (an imported role is left as it is: it must allow those itself).
   * @default - a new role that may write only the function's log group and manage its network interfaces
   */
  readonly role?: iam.IRole;
  /** @default 1024 */
  readonly memorySize?: number;
  /** @default Duration.seconds(30) */
  readonly timeout?: Duration;
  /** @default - unreserved */
  readonly reservedConcurrentExecutions?: number;
  /** @default {} */
  readonly environment?: Readonly<Record<string, string>>;
  /** @default logs.RetentionDays.TWO_WEEKS */
  readonly logRetention?: logs.RetentionDays;
  /** Whether the Avro schemas are bundled beside the handler. @default false */
  readonly bundleSchemas?: boolean;
  /**
   * V8's young-generation semi-space in MB (`--max-semi-space-size` in NODE_OPTIONS), for
   * handlers whose working set lives for a whole invocation.
   * @default - V8's default
   */
  readonly semiSpaceMb?: number;
  /**
   * The semi-space V8 starts with, in MB (`--min-semi-space-size`), so that a cold start does not
   * scavenge over and over while the young generation grows. NODE_OPTIONS refuses the flag: the
   * function is then started through a launch wrapper (`AWS_LAMBDA_EXEC_WRAPPER`) that passes it,
   * from a layer whose zip carries the wrapper's execute bit (lib/bundling/launch-wrapper-layer.ts).
   * @default - V8's default (1 MB, doubling at each scavenge), and no launch wrapper
   */
  readonly initialSemiSpaceMb?: number;
  /**
   * Whether stack traces are mapped to the TypeScript source at run time (`--enable-source-maps`).
   * The source map is bundled either way.
   * @default true
   */
  readonly sourceMaps?: boolean;
}

/** The Node.js flags a Surge function is deployed with; the bench and the local runtime use them too. */
export interface FunctionNodeFlags {
  /** Flags in NODE_OPTIONS. */
  readonly nodeOptions: readonly string[];
  /** V8 flags that NODE_OPTIONS refuses, given on the command line by the launch wrapper. */
  readonly launchFlags: readonly string[];
}

export function functionNodeFlags(props: {
  readonly sourceMaps?: boolean;
  readonly semiSpaceMb?: number;
  readonly initialSemiSpaceMb?: number;
}): FunctionNodeFlags {
  const nodeOptions: string[] = [];
  if (props.sourceMaps ?? true) nodeOptions.push('--enable-source-maps');
  if (props.semiSpaceMb !== undefined) nodeOptions.push(`--max-semi-space-size=${props.semiSpaceMb}`);
  const launchFlags: string[] = [];
  if (props.initialSemiSpaceMb) launchFlags.push(`--min-semi-space-size=${props.initialSemiSpaceMb}`);
  return { nodeOptions, launchFlags };
}

/** Lets the CommonJS dependencies (kafkajs, ioredis, avsc) call require() inside the ES module bundle. */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __surgeRequire } from 'node:module'; const require = __surgeRequire(import.meta.url);";

/** SDK clients (Kafka, Secrets Manager, STS) that the Node.js 22 runtime provides: not bundled. */
export const RUNTIME_PROVIDED_MODULES = ['@aws-sdk/client-*'];

/** Loaded by the Kafka publisher on demand (functions/shared/kafka/publisher.ts). */
export const IAM_SIGNER_MODULE = 'aws-msk-iam-sasl-signer-js';

/**
 * Bundles the MSK IAM signer into node_modules beside the handler, as an ES module of its own
 * that the handler's dynamic import resolves at run time.
 */
function iamSignerCommands(inputDir: string, outputDir: string): string[] {
  const target = `${outputDir}/node_modules/${IAM_SIGNER_MODULE}`;
  const packageJson = JSON.stringify({ name: IAM_SIGNER_MODULE, type: 'module', main: 'index.mjs' });
  return [
    `mkdir -p "${target}"`,
    `echo '${packageJson}' > "${target}/package.json"`,
    [
      `cd "${inputDir}" &&`,
      `echo "export { generateAuthToken } from '${IAM_SIGNER_MODULE}';"`,
      `| node_modules/.bin/esbuild --bundle --platform=node --format=esm --target=node22 --minify`,
      `--external:@aws-sdk/client-* --log-level=warning`,
      `'--banner:js=import { createRequire as __surgeRequire } from "node:module"; const require = __surgeRequire(import.meta.url);'`,
      `--outfile="${target}/index.mjs"`,
    ].join(' '),
  ];
}

/**
 * A Surge Lambda function: Node.js 22 on arm64, bundled locally by esbuild (never Docker) as a
 * minified ES module with source maps, in the VPC's isolated subnets, with a role that may write
 * only its own log group and manage its network interfaces.
 */
export class SurgeFunction extends Construct implements ec2.IConnectable, iam.IGrantable {
  readonly function: nodejs.NodejsFunction;
  readonly role: iam.IRole;
  readonly logGroup: logs.LogGroup;
  readonly grantPrincipal: iam.IPrincipal;
  readonly connections: ec2.Connections;

  constructor(scope: Construct, id: string, props: SurgeFunctionProps) {
    super(scope, id);
    const memorySize = props.memorySize ?? 1_024;
    assertWithin('memorySize', memorySize, LIMITS.functionMemoryMb);
    const semiSpaceMb = props.semiSpaceMb;
    if (semiSpaceMb !== undefined && !Token.isUnresolved(memorySize)) {
      assertWithin('semiSpaceMb', semiSpaceMb, semiSpaceLimit(memorySize));
    }
    const initialSemiSpaceMb = props.initialSemiSpaceMb;
    if (initialSemiSpaceMb !== undefined && Token.isUnresolved(initialSemiSpaceMb)) {
      throw new Error(
        'initialSemiSpaceMb must be a number known at synthesis: it is written into the launch wrapper',
      );
    }
    if (initialSemiSpaceMb !== undefined) {
      // Without a semiSpaceMb, V8's own maximum applies: the start may be anything up to it.
      assertWithin(
        'initialSemiSpaceMb',
        initialSemiSpaceMb,
        initialSemiSpaceLimit(semiSpaceMb ?? Number.MAX_SAFE_INTEGER),
      );
    }
    const { nodeOptions, launchFlags } = functionNodeFlags({
      sourceMaps: props.sourceMaps,
      semiSpaceMb,
      initialSemiSpaceMb,
    });
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.TWO_WEEKS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.role =
      props.role ??
      new iam.Role(this, 'Role', {
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        description: props.description,
      });
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        // Network interfaces of VPC functions and of MSK pollers; EC2 does not scope these by resource.
        actions: [
          'ec2:CreateNetworkInterface',
          'ec2:DescribeNetworkInterfaces',
          'ec2:DeleteNetworkInterface',
          'ec2:AssignPrivateIpAddresses',
          'ec2:UnassignPrivateIpAddresses',
          'ec2:DescribeSubnets',
          'ec2:DescribeSecurityGroups',
          'ec2:DescribeVpcs',
        ],
        resources: ['*'],
      }),
    );
    this.grantPrincipal = this.role;

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: join(PROJECT_ROOT, props.entry),
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      handler: 'handler',
      description: props.description,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize,
      timeout: props.timeout ?? Duration.seconds(30),
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      layers: launchFlags.length > 0 ? [launchWrapperLayer(this, launchFlags)] : undefined,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      securityGroups: [props.securityGroup],
      environment: {
        NODE_OPTIONS: nodeOptions.join(' '),
        ...(launchFlags.length > 0 ? { AWS_LAMBDA_EXEC_WRAPPER: `${LAYER_ROOT}/${LAUNCH_WRAPPER}` } : {}),
        ...(props.bundleSchemas ? { SURGE_SCHEMAS_DIR: BUNDLED_SCHEMAS_DIR } : {}),
        ...props.environment,
      },
      bundling: {
        format: nodejs.OutputFormat.ESM,
        target: 'node22',
        platform: 'node',
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        mainFields: ['module', 'main'],
        banner: ESM_REQUIRE_BANNER,
        // SDK clients (Kafka, Secrets Manager, STS) come with the Node.js 22 runtime. Everything else is
        // bundled, so the function does not depend on which SDK internals a runtime version ships:
        // the MSK IAM signer (with its credential chain, ~40% of the code) as a module of its own
        // beside the handler, which loads it on its first connection to MSK only.
        externalModules: [...RUNTIME_PROVIDED_MODULES, IAM_SIGNER_MODULE],
        forceDockerBundling: false,
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (inputDir: string, outputDir: string) => [
            ...(props.bundleSchemas
              ? [`mkdir -p "${outputDir}/schemas"`, `cp "${inputDir}"/schemas/*.avsc "${outputDir}/schemas/"`]
              : []),
            ...iamSignerCommands(inputDir, outputDir),
          ],
        },
      },
    });
    this.connections = this.function.connections;
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Only the EC2 network-interface actions of VPC functions and MSK pollers use *: EC2 does not support resource-level permissions for them',
    });
    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Pinned to Node.js 22 (LTS): the bundle is built for node22 and the product is tested on that runtime',
    });
  }
}
