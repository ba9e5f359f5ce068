import { ConfigurationError } from '../errors';
import { createRedisClient, createRedisCluster, type RedisClient } from './clients';

export interface RedisConnectionSettings {
  readonly redisUrl: string;
  /** A Secrets Manager secret holding the AUTH token (plain, or JSON with a `password` field). */
  readonly redisAuthSecretArn?: string;
  readonly redisCluster?: boolean;
}

/** The AUTH token is read once per container, so it never sits in an environment variable. */
async function readPassword(secretArn: string): Promise<string> {
  // Loaded on demand: the SDK is provided by the Lambda runtime and only deployed functions need it.
  const { SecretsManagerClient, GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
  const client = new SecretsManagerClient({});
  try {
    const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: secretArn }));
    if (!SecretString) throw new ConfigurationError(`secret ${secretArn} has no string value`);
    if (SecretString.trimStart().startsWith('{')) {
      const password = (JSON.parse(SecretString) as { password?: unknown }).password;
      if (typeof password !== 'string')
        throw new ConfigurationError(`secret ${secretArn} has no "password" field`);
      return password;
    }
    return SecretString;
  } finally {
    client.destroy();
  }
}

export async function connectRedis(settings: RedisConnectionSettings): Promise<RedisClient> {
  const password = settings.redisAuthSecretArn ? await readPassword(settings.redisAuthSecretArn) : undefined;
  const overrides = password === undefined ? {} : { password };
  return settings.redisCluster
    ? createRedisCluster(settings.redisUrl, overrides)
    : createRedisClient(settings.redisUrl, overrides);
}
