import type { StageConfig } from '../../lib/config/stage-config';
import type { CfnTemplate } from './templates';

/** Hours in an average month, as AWS's pricing pages count them. */
const HOURS_PER_MONTH = 730;

/**
 * On-demand list prices in US East (N. Virginia), in USD, as published in 2025. Other regions
 * differ by up to about 30%; the AWS Pricing Calculator is the reference. A type missing here is
 * reported as unpriced rather than guessed.
 */
export const LIST_PRICES = {
  mskBrokerHour: {
    'kafka.t3.small': 0.0456,
    'kafka.m5.large': 0.21,
    'kafka.m7g.large': 0.204,
    'kafka.m7g.xlarge': 0.408,
  } as Record<string, number>,
  mskStorageGbMonth: 0.1,
  mskServerlessClusterHour: 0.75,
  mskServerlessPartitionHour: 0.0015,
  /** Valkey node-hours (20% below Redis OSS). */
  valkeyNodeHour: {
    'cache.t4g.micro': 0.0128,
    'cache.t4g.small': 0.0256,
    'cache.r7g.large': 0.1752,
    'cache.r7g.xlarge': 0.3504,
  } as Record<string, number>,
  /** ElastiCache Serverless for Valkey bills at least 100 MB of data: 0.1 GB × $0.0837 per GB-hour. */
  valkeyServerlessMinimumHour: 0.1 * 0.0837,
  interfaceEndpointAzHour: 0.01,
  secretMonth: 0.4,
  kmsKeyMonth: 1,
  alarmMonth: 0.1,
  dashboardMonth: 3,
} as const;

export interface CostLine {
  readonly item: string;
  /** USD per month; undefined when the price is not in LIST_PRICES. */
  readonly monthlyUsd?: number;
}

function count(templates: readonly CfnTemplate[], type: string): number {
  return templates.reduce((n, t) => n + Object.values(t.Resources).filter((r) => r.Type === type).length, 0);
}

/**
 * What the stage costs each month before any traffic: brokers, storage, cache nodes, endpoints,
 * secrets, keys, alarms and the dashboard. Usage (Lambda duration, data transfer, ECPUs, MSK
 * Serverless throughput, event pollers) comes on top and is listed without a number.
 */
export function monthlyBaseCost(config: StageConfig, templates: readonly CfnTemplate[]): CostLine[] {
  const lines: CostLine[] = [];
  const { kafka, cache, network } = config;
  if (kafka.mode === 'provisioned') {
    const brokers = network.maxAzs * kafka.brokersPerAz;
    const hour = LIST_PRICES.mskBrokerHour[kafka.brokerInstanceType];
    lines.push({
      item: `${brokers} × ${kafka.brokerInstanceType} MSK brokers`,
      monthlyUsd: hour === undefined ? undefined : brokers * hour * HOURS_PER_MONTH,
    });
    lines.push({
      item: `${brokers} × ${kafka.volumeSizeGiB} GiB broker storage`,
      monthlyUsd: brokers * kafka.volumeSizeGiB * LIST_PRICES.mskStorageGbMonth,
    });
  } else {
    const partitions = kafka.partitions * Object.keys(config.topics).length;
    lines.push({
      item: `MSK Serverless cluster and ${partitions} partitions`,
      monthlyUsd:
        (LIST_PRICES.mskServerlessClusterHour + partitions * LIST_PRICES.mskServerlessPartitionHour) *
        HOURS_PER_MONTH,
    });
  }
  if (cache.mode === 'provisioned') {
    const nodes = cache.replicasPerShard + 1;
    const hour = LIST_PRICES.valkeyNodeHour[cache.nodeType];
    lines.push({
      item: `${nodes} × ${cache.nodeType} Valkey nodes`,
      monthlyUsd: hour === undefined ? undefined : nodes * hour * HOURS_PER_MONTH,
    });
  } else {
    lines.push({
      item: 'ElastiCache Serverless (the 100 MB minimum)',
      monthlyUsd: LIST_PRICES.valkeyServerlessMinimumHour * HOURS_PER_MONTH,
    });
  }
  const endpoints = count(templates, 'AWS::EC2::VPCEndpoint');
  lines.push({
    item: `${endpoints} interface endpoints in ${network.maxAzs} zones`,
    monthlyUsd: endpoints * network.maxAzs * LIST_PRICES.interfaceEndpointAzHour * HOURS_PER_MONTH,
  });
  const secrets = count(templates, 'AWS::SecretsManager::Secret');
  lines.push({ item: `${secrets} secrets`, monthlyUsd: secrets * LIST_PRICES.secretMonth });
  const keys = count(templates, 'AWS::KMS::Key');
  lines.push({ item: `${keys} KMS keys`, monthlyUsd: keys * LIST_PRICES.kmsKeyMonth });
  const alarms = count(templates, 'AWS::CloudWatch::Alarm');
  const dashboards = count(templates, 'AWS::CloudWatch::Dashboard');
  lines.push({
    item: `${alarms} alarms and ${dashboards} dashboard`,
    monthlyUsd: alarms * LIST_PRICES.alarmMonth + dashboards * LIST_PRICES.dashboardMonth,
  });
  const pollers = config.eventSource.provisionedPollers;
  lines.push({
    item:
      pollers === undefined
        ? 'usage: Lambda requests and duration, data transfer, logs'
        : `usage: Lambda requests and duration, ${pollers.minimum} to ${pollers.maximum} provisioned event pollers (billed per poller-hour), data transfer, logs`,
  });
  return lines;
}
