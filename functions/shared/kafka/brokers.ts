import type { KafkaSettings } from '../config';
import { ConfigurationError, KafkaError } from '../errors';

/**
 * Where the producer connects, in order of precedence: KAFKA_BROKERS; the brokers of
 * MSK_CLUSTER_ARN (looked up once per container through the Kafka control plane); the
 * bootstrapServers of the event that woke the function.
 */
export async function resolveBrokers(
  settings: KafkaSettings,
  eventBootstrapServers?: string,
): Promise<string[]> {
  if (settings.brokers !== undefined && settings.brokers.length > 0) return [...settings.brokers];
  if (settings.clusterArn !== undefined) return lookUpClusterBrokers(settings);
  const fromEvent = eventBootstrapServers
    ?.split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  if (fromEvent !== undefined && fromEvent.length > 0) return fromEvent;
  throw new ConfigurationError(
    'no Kafka brokers: set KAFKA_BROKERS or MSK_CLUSTER_ARN, or invoke with an event that has bootstrapServers',
  );
}

async function lookUpClusterBrokers(settings: KafkaSettings): Promise<string[]> {
  // Loaded on demand: the SDK is provided by the Lambda runtime and most containers never need it.
  const { KafkaClient, GetBootstrapBrokersCommand } = await import('@aws-sdk/client-kafka');
  const client = new KafkaClient(settings.region ? { region: settings.region } : {});
  try {
    const answer = await client.send(new GetBootstrapBrokersCommand({ ClusterArn: settings.clusterArn }));
    const list =
      settings.auth === 'aws-iam'
        ? answer.BootstrapBrokerStringSaslIam
        : (answer.BootstrapBrokerStringTls ?? answer.BootstrapBrokerString);
    if (!list) {
      throw new ConfigurationError(
        `MSK cluster ${settings.clusterArn} has no bootstrap brokers for KAFKA_AUTH=${settings.auth}`,
      );
    }
    return list.split(',');
  } catch (cause) {
    if (cause instanceof ConfigurationError) throw cause;
    throw new KafkaError(
      `cannot look up the brokers of ${settings.clusterArn}: ${(cause as Error).message}`,
      {
        cause,
      },
    );
  } finally {
    client.destroy();
  }
}
