import type { App, Environment } from 'aws-cdk-lib';
import type { StageConfig } from './config/stage-config';
import { ApiStack } from './stacks/api-stack';
import { CacheStack } from './stacks/cache-stack';
import { NetworkStack } from './stacks/network-stack';
import { ProcessingStack } from './stacks/processing-stack';
import { StreamingStack } from './stacks/streaming-stack';

export interface SurgeStacks {
  readonly network: NetworkStack;
  readonly streaming: StreamingStack;
  readonly cache: CacheStack;
  readonly processing: ProcessingStack;
  readonly api: ApiStack;
}

/** The stacks of one stage, split by lifecycle and wired through typed props. */
export function addSurgeStacks(app: App, config: StageConfig, env?: Environment): SurgeStacks {
  const prefix = `Surge-${config.stage}`;
  const common = { env, tags: { project: 'surge', stage: config.stage } };
  const network = new NetworkStack(app, `${prefix}-Network`, { ...common, config });
  const streaming = new StreamingStack(app, `${prefix}-Streaming`, {
    ...common,
    config,
    vpc: network.vpc,
    brokerSecurityGroup: network.brokerSecurityGroup,
    functionSecurityGroup: network.functionSecurityGroup,
  });
  const cache = new CacheStack(app, `${prefix}-Cache`, {
    ...common,
    config,
    vpc: network.vpc,
    cacheSecurityGroup: network.cacheSecurityGroup,
  });
  const processing = new ProcessingStack(app, `${prefix}-Processing`, {
    ...common,
    config,
    vpc: network.vpc,
    functionSecurityGroup: network.functionSecurityGroup,
    cluster: streaming.cluster,
    cache: cache.cache,
  });
  const api = new ApiStack(app, `${prefix}-Api`, {
    ...common,
    config,
    vpc: network.vpc,
    functionSecurityGroup: network.functionSecurityGroup,
    cache: cache.cache,
  });
  return { network, streaming, cache, processing, api };
}
