import { Cluster, Redis, type RedisOptions } from 'ioredis';

/** A standalone Redis (replication group, cluster mode disabled) or a Redis Cluster (ElastiCache Serverless). */
export type RedisClient = Redis | Cluster;

export function isCluster(client: RedisClient): client is Cluster {
  return client.isCluster;
}

/**
 * Connection settings for a Lambda: fail fast (a few retries, short timeouts) so that an
 * unreachable Redis becomes an error the event source mapping retries, not a hung invocation.
 */
export function createRedisClient(url: string, overrides: RedisOptions = {}): Redis {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 2_000,
    commandTimeout: 5_000,
    maxRetriesPerRequest: 2,
    retryStrategy: (attempt) => Math.min(attempt * 100, 1_000),
    ...overrides,
  });
  // Connection errors reach the caller as rejected commands (wrapped in RedisError); without a
  // listener ioredis would also print each reconnect attempt as an unhandled error event.
  client.on('error', () => undefined);
  return client;
}

/**
 * A cluster-aware client for cluster-mode caches. TLS endpoints of ElastiCache present certificates
 * for their DNS names, hence the lookup that keeps names as they are.
 */
export function createRedisCluster(url: string, overrides: RedisOptions = {}): Cluster {
  const parsed = new URL(url);
  const tls = parsed.protocol === 'rediss:';
  const client = new Cluster([{ host: parsed.hostname, port: Number(parsed.port || 6379) }], {
    lazyConnect: true,
    slotsRefreshTimeout: 2_000,
    clusterRetryStrategy: (attempt) => (attempt > 3 ? null : attempt * 100),
    dnsLookup: (address, callback) => callback(null, address),
    redisOptions: {
      connectTimeout: 2_000,
      commandTimeout: 5_000,
      maxRetriesPerRequest: 2,
      username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
      password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
      ...(tls ? { tls: {} } : {}),
      ...overrides,
    },
  });
  client.on('error', () => undefined);
  return client;
}
