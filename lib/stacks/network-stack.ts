import { CfnResource, Fn, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { StageConfig } from '../config/stage-config';
import { KAFKA_IAM_AUTH_PORT } from '../constructs/kafka-cluster';

export interface NetworkStackProps extends StackProps {
  readonly config: StageConfig;
}

/**
 * The first `count` zones of the region, resolved by CloudFormation at deploy time: no context
 * lookup at synthesis (no credentials, no cdk.context.json) and no zone names baked in.
 */
export function availabilityZones(count: number): string[] {
  return Array.from({ length: count }, (_, i) => Fn.select(i, Fn.getAzs()));
}

/**
 * An isolated VPC: no internet or NAT gateway. The brokers, the cache and the functions live in
 * isolated subnets; the functions reach AWS APIs through interface endpoints only.
 * The security groups are created here, empty, so that the stacks that own the resources can
 * wire them with `connections` without cross-stack cycles.
 */
export class NetworkStack extends Stack {
  readonly vpc: ec2.IVpc;
  /** Brokers, and the event source mapping's pollers (they run with the cluster's group). */
  readonly brokerSecurityGroup: ec2.SecurityGroup;
  readonly cacheSecurityGroup: ec2.SecurityGroup;
  readonly functionSecurityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: NetworkStackProps) {
    super(scope, id, props);
    const { config } = props;

    const vpc = new ec2.Vpc(this, 'Vpc', {
      // Named, not looked up: synthesis needs no credentials and no cdk.context.json.
      availabilityZones: availabilityZones(config.network.maxAzs),
      natGateways: 0,
      subnetConfiguration: [{ name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 22 }],
      restrictDefaultSecurityGroup: true,
    });
    this.vpc = vpc;
    this.giveProviderHandlersRetention(config.logRetentionDays);
    vpc.addFlowLog('FlowLogs', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(
        new logs.LogGroup(this, 'FlowLogGroup', {
          retention: config.network.flowLogRetentionDays as logs.RetentionDays,
        }),
      ),
      trafficType: ec2.FlowLogTrafficType.REJECT,
    });

    this.brokerSecurityGroup = new ec2.SecurityGroup(this, 'BrokerSecurityGroup', {
      vpc,
      description: 'MSK brokers and the event source mapping pollers',
      allowAllOutbound: false,
    });
    this.cacheSecurityGroup = new ec2.SecurityGroup(this, 'CacheSecurityGroup', {
      vpc,
      description: 'ElastiCache for the analytics aggregates',
      allowAllOutbound: false,
    });
    this.functionSecurityGroup = new ec2.SecurityGroup(this, 'FunctionSecurityGroup', {
      vpc,
      description: 'Surge Lambda functions',
      allowAllOutbound: false,
    });

    // The mapping's pollers attach to the cluster's security group and talk to the brokers through it.
    this.brokerSecurityGroup.connections.allowFrom(
      this.brokerSecurityGroup,
      ec2.Port.tcp(KAFKA_IAM_AUTH_PORT),
      'Event source mapping pollers to brokers (IAM auth, TLS)',
    );
    this.brokerSecurityGroup.connections.allowTo(
      this.brokerSecurityGroup,
      ec2.Port.tcp(KAFKA_IAM_AUTH_PORT),
      'Event source mapping pollers to brokers (IAM auth, TLS)',
    );

    const endpointSecurityGroup = new ec2.SecurityGroup(this, 'EndpointSecurityGroup', {
      vpc,
      description: 'Interface endpoints of the AWS APIs the functions and pollers call',
      allowAllOutbound: false,
    });
    const endpoint = (name: string, service: ec2.InterfaceVpcEndpointAwsService) => {
      const created = vpc.addInterfaceEndpoint(name, {
        service,
        privateDnsEnabled: true,
        open: false,
        securityGroups: [endpointSecurityGroup],
      });
      created.connections.allowDefaultPortFrom(this.functionSecurityGroup, `Functions to ${name}`);
      return created;
    };
    // The functions read the Redis AUTH token at cold start.
    endpoint('SecretsManager', ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER);
    // A queue as the mapping's failure destination is written from the cluster's subnets: AWS asks
    // for an endpoint of that service in the cluster's VPC.
    if (config.eventSource.onFailure === 'sqs') {
      endpoint('Sqs', ec2.InterfaceVpcEndpointAwsService.SQS).connections.allowDefaultPortFrom(
        this.brokerSecurityGroup,
        'Pollers to the failure queue',
      );
    }
    // On-demand pollers call Lambda and STS from the cluster's subnets; provisioned pollers do not.
    if (config.eventSource.provisionedPollers === undefined) {
      for (const [name, service] of [
        ['Lambda', ec2.InterfaceVpcEndpointAwsService.LAMBDA],
        ['Sts', ec2.InterfaceVpcEndpointAwsService.STS],
      ] as const) {
        endpoint(name, service).connections.allowDefaultPortFrom(
          this.brokerSecurityGroup,
          `Pollers to ${name}`,
        );
      }
    }
  }

  /**
   * CDK's own custom resource providers in this stack (the one that restricts the VPC's default
   * security group) log to a group kept forever unless told otherwise: each gets a group of its own.
   */
  private giveProviderHandlersRetention(days: number): void {
    for (const child of this.node.children) {
      if (!child.node.id.endsWith('CustomResourceProvider')) continue;
      const handler = child.node.tryFindChild('Handler');
      if (!(handler instanceof CfnResource) || handler.cfnResourceType !== 'AWS::Lambda::Function') continue;
      const group = new logs.LogGroup(this, `${child.node.id.replace(/[^A-Za-z0-9]/g, '')}Logs`, {
        retention: days as logs.RetentionDays,
        removalPolicy: RemovalPolicy.DESTROY,
      });
      handler.addPropertyOverride('LoggingConfig', { LogGroup: group.logGroupName });
    }
  }
}
