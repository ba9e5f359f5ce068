/**
 * The cache users' access strings (Redis/Valkey ACL syntax, as ElastiCache RBAC takes them): the
 * analytics function writes, the query function only reads, both only keys under the prefix.
 * The CDK construct deploys these strings and the tests run the functions under them on a real
 * redis-server, so what is deployed is what was tried.
 */

/** What a client library needs to connect and stay connected, and nothing that changes the server. */
const CONNECTION = '+@connection -@dangerous +time +info +cluster|slots +cluster|shards';

/** The query function: reads of Surge's keys. */
export function readerAccess(keyPrefix: string): string {
  return `on ~${keyPrefix}:* resetchannels -@all +@read ${CONNECTION}`;
}

/** The analytics function: reads and writes of Surge's keys through its scripts, and WAIT. */
export function writerAccess(keyPrefix: string): string {
  return `on ~${keyPrefix}:* resetchannels -@all +@read +@write ${CONNECTION} +evalsha +eval +script|load +script|exists +wait`;
}

/** The user every Valkey user group must hold, switched off. */
export const DISABLED_DEFAULT_ACCESS = 'off -@all';
