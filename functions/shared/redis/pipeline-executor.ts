import calculateSlot from 'cluster-key-slot';
import type { ChainableCommander, Redis } from 'ioredis';
import { RedisError } from '../errors';
import { isCluster, type RedisClient } from './clients';

/**
 * Runs a batch's commands on Redis in one round trip per node: pipelines written as they are built,
 * routed by slot on a cluster (following MOVED, ASK, TRYAGAIN and CLUSTERDOWN), with the scripts
 * loaded on a connection's first batch and reloaded after a NOSCRIPT.
 */

export type Pipeline = ChainableCommander;

/** A command of a batch, with the key that decides which cluster node runs it. */
export interface Queued {
  readonly key: string;
  add(pipeline: Pipeline): void;
  /** Turns the reply into its outcome as soon as the command has answered. */
  parse?(reply: unknown): unknown;
}

/** Redis lost the scripts (restart, failover): load them and send the batch again. */
export class ScriptsMissing extends Error {}

/** Attempts at a batch's commands while a cluster keeps redirecting them (a reshard, a failover). */
const MAX_REDIRECTS = 6;

/** A cluster node's answer that the command belongs elsewhere, for now or for good. */
class Redirect {
  private static readonly PATTERN = /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN)\b(?: \d+ (\S+))?/;

  private constructor(
    readonly kind: string,
    readonly address: string | undefined,
    readonly index = -1,
  ) {}

  static of(message: string): Redirect | undefined {
    const m = Redirect.PATTERN.exec(message);
    return m === null ? undefined : new Redirect(m[1] as string, m[2]);
  }

  withIndex(index: number): Redirect {
    return new Redirect(this.kind, this.address, index);
  }
}

// The CommonJS object, not an ES import: see schema-registry.ts (the ES namespace of a built-in costs a cold start).
const { createHash } = process.getBuiltinModule('node:crypto');

/** The SHA-1 by which Redis caches a script (EVALSHA). */
export function scriptSha(script: string): string {
  return createHash('sha1').update(script).digest('hex');
}

/** Runs one Redis operation; any failure becomes a RedisError that says what was being done. */
export async function runRedis<T>(operation: () => Promise<T>, what: string): Promise<T> {
  try {
    return await operation();
  } catch (cause) {
    if (cause instanceof RedisError) throw cause;
    throw new RedisError(`Redis failed to ${what}: ${(cause as Error).message}`, { cause });
  }
}

export class PipelineExecutor {
  /** Connections known to hold the scripts; a (re)connection may not, so 'ready' forgets it. */
  private readonly loaded = new WeakSet<Redis>();
  private readonly watched = new WeakSet<Redis>();
  private clusterConnecting: Promise<void> | undefined;

  constructor(
    private readonly client: RedisClient,
    /** The scripts the commands call by SHA, loaded with a connection's first batch. */
    private readonly scripts: readonly string[],
  ) {}

  /**
   * Connects and loads the scripts ahead of the first batch (a cold start decodes its batch
   * meanwhile). A failure here is reported by the first real command, which connects again.
   */
  warmUp(): void {
    const redis = this.client;
    if (isCluster(redis)) {
      if (redis.status === 'wait') {
        this.clusterConnecting = redis.connect();
        this.clusterConnecting.catch(() => undefined);
      }
      return;
    }
    const load = async () => {
      if (redis.status === 'wait') await redis.connect();
      this.watch(redis);
      await Promise.all(this.scripts.map((script) => redis.script('LOAD', script)));
      this.loaded.add(redis);
    };
    load().catch(() => undefined);
  }

  /** The commands' replies (parsed), in their order; on a cluster, each sent to the node that owns its key. */
  async execute(commands: readonly Queued[], what: string): Promise<unknown[]> {
    const redis = this.client;
    if (!isCluster(redis)) return this.executeOn(redis, commands, what);
    await runRedis(async () => {
      // After a failed warm-up the status is back to 'wait' or 'end', and this connects again.
      await this.clusterConnecting?.catch(() => undefined);
      this.clusterConnecting = undefined;
      if (redis.status === 'wait' || redis.status === 'end') await redis.connect();
    }, 'connect to the cluster');
    const out: unknown[] = new Array(commands.length);
    let pending = commands.map((_, i) => i);
    for (let attempt = 1; ; attempt++) {
      const masters = new Map(
        redis.nodes('master').map((node) => [`${node.options.host}:${node.options.port}`, node]),
      );
      const byNode = new Map<Redis, number[]>();
      for (const i of pending) {
        const owner = redis.slots[calculateSlot((commands[i] as Queued).key)]?.[0];
        const node = owner === undefined ? undefined : masters.get(owner);
        if (node === undefined) throw new RedisError(`no cluster node owns the slot of ${commands[i]?.key}`);
        const indices = byNode.get(node);
        if (indices === undefined) byNode.set(node, [i]);
        else indices.push(i);
      }
      const again: number[] = [];
      const settle = (index: number, reply: unknown, asked?: Redirect[]) => {
        if (!(reply instanceof Redirect)) out[index] = reply;
        else if (asked && reply.kind === 'ASK' && reply.address !== undefined && masters.has(reply.address))
          asked.push(reply.withIndex(index));
        else again.push(index);
      };
      const asked: Redirect[] = [];
      await Promise.all(
        [...byNode].map(async ([node, indices]) => {
          const replies = await this.executeOn(
            node,
            indices.map((i) => commands[i] as Queued),
            what,
          );
          indices.forEach((index, j) => {
            settle(index, replies[j], asked);
          });
        }),
      );
      // ASK: the slot is migrating and these keys are already on the importing node.
      await Promise.all(
        asked.map(async (redirect) => {
          const node = masters.get(redirect.address as string) as Redis;
          const [reply] = await this.executeOn(node, [commands[redirect.index] as Queued], what, true);
          settle(redirect.index, reply);
        }),
      );
      if (again.length === 0) return out;
      if (attempt === MAX_REDIRECTS) {
        throw new RedisError(
          `the cluster still redirected ${again.length} commands after ${attempt} attempts`,
        );
      }
      await new Promise<void>((resolve) => redis.refreshSlotsCache(() => resolve()));
      await new Promise((resolve) => setTimeout(resolve, 25 * attempt));
      pending = again;
    }
  }

  /**
   * One connection's share of a batch, each command written as soon as it is built with no wait in
   * between: Redis executes the first on its own core while this one packs the next. Still a
   * single wait for replies. The scripts ride along on a connection's first batch. A cluster
   * node's redirection comes back as a Redirect for `execute` to follow.
   */
  private async executeOn(
    client: Redis,
    commands: readonly Queued[],
    what: string,
    asking = false,
  ): Promise<unknown[]> {
    this.watch(client);
    const preload = this.loaded.has(client) ? 0 : this.scripts.length;
    const pending: Promise<unknown>[] = [];
    let missing = false;
    commands.forEach((command, i) => {
      const pipeline = client.pipeline();
      let skip = i === 0 ? preload : 0;
      if (skip > 0) for (const script of this.scripts) pipeline.script('LOAD', script);
      if (asking) {
        pipeline.asking();
        skip++;
      }
      command.add(pipeline);
      // Each reply is turned into outcomes while Redis still works on the next commands.
      pending.push(
        runRedis(() => pipeline.exec(), what).then((replies) => {
          if (replies?.some(([error]) => error?.message.startsWith('NOSCRIPT'))) {
            missing = true;
            return undefined;
          }
          const failed = replies?.[skip]?.[0];
          const redirect = failed ? Redirect.of(failed.message) : undefined;
          if (redirect !== undefined && this.client.isCluster) return redirect;
          const reply = pipelineReply(replies, skip);
          return command.parse ? command.parse(reply) : reply;
        }),
      );
    });
    const values = await Promise.all(pending);
    if (missing) {
      this.loaded.delete(client);
      throw new ScriptsMissing('Redis has lost the scripts');
    }
    if (preload > 0) this.loaded.add(client);
    return values;
  }

  /** A (re)connection may have lost the scripts: forget that this one holds them. */
  private watch(client: Redis): void {
    if (this.watched.has(client)) return;
    this.watched.add(client);
    client.on('ready', () => this.loaded.delete(client));
  }
}

/** The reply at `index` of a pipeline's replies; a failed command becomes a RedisError. */
export function pipelineReply(replies: [Error | null, unknown][] | null, index: number): unknown {
  const entry = replies?.[index];
  if (entry === undefined) throw new RedisError(`Redis pipeline returned no reply ${index}`);
  if (entry[0]) throw new RedisError(`Redis command failed: ${entry[0].message}`, { cause: entry[0] });
  return entry[1];
}
