import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { track } from '../child-processes';
import { ensureSystemPackages } from '../system-deps';

const SOURCE = fileURLToPath(new URL('./mock-cluster.c', import.meta.url));
const CACHE = fileURLToPath(new URL('../../node_modules/.cache/surge/', import.meta.url));

export interface TopicSpec {
  readonly name: string;
  readonly partitions: number;
}

export interface MockKafka {
  readonly bootstrapServers: string;
  readonly brokers: string[];
  createTopic(topic: TopicSpec): Promise<void>;
  /** Takes broker `id` (1-based; -1 for all) off the network, as a failed broker would be. */
  setBrokerDown(id: number): Promise<void>;
  setBrokerUp(id: number): Promise<void>;
  setRtt(id: number, ms: number): Promise<void>;
  /** Fails the next `count` requests of Kafka API `apiKey` (0 = Produce) with error `code`. */
  failRequests(apiKey: number, count: number, code: number): Promise<void>;
  stop(): Promise<void>;
}

/** Compiles the launcher once per source version; concurrent callers share the result. */
export function mockClusterBinary(): string {
  ensureSystemPackages(['gcc', 'pkg-config', 'librdkafka-dev']);
  const source = readFileSync(SOURCE);
  const binary = join(
    CACHE,
    `mock-cluster-${createHash('sha256').update(source).digest('hex').slice(0, 12)}`,
  );
  if (existsSync(binary)) return binary;
  mkdirSync(dirname(binary), { recursive: true });
  const flags = execFileSync('pkg-config', ['--cflags', '--libs', 'rdkafka'], { encoding: 'utf8' })
    .trim()
    .split(/\s+/);
  const temporary = `${binary}.${process.pid}.tmp`;
  execFileSync('cc', ['-O2', '-o', temporary, SOURCE, ...flags], { stdio: 'inherit' });
  renameSync(temporary, binary);
  return binary;
}

/**
 * Starts librdkafka's mock cluster on loopback with the topics created (it has no CreateTopics
 * API). It serves produce, fetch, consumer groups and offset commits; its metadata names no
 * usable controller, so idempotent producers must be turned off (KAFKA_IDEMPOTENT=false).
 */
export async function startMockKafka(
  options: {
    brokers?: number;
    topics?: readonly TopicSpec[];
    /** The brokers drop a connection whose request is larger, as a broker refuses an oversized produce. */
    maxRequestBytes?: number;
    /**
     * A launcher built from mock-cluster.c against another librdkafka (whose mock speaks newer
     * API versions), as bench/kafka-clients.ts takes one.
     * @default - mockClusterBinary(), against the system's librdkafka
     */
    binary?: string;
  } = {},
): Promise<MockKafka> {
  const brokerCount = options.brokers ?? 1;
  const limit = options.maxRequestBytes === undefined ? [] : ['-m', String(options.maxRequestBytes)];
  const child: ChildProcessWithoutNullStreams = spawn(
    options.binary ?? mockClusterBinary(),
    ['-b', String(brokerCount), ...limit, ...(options.topics ?? []).map((t) => `${t.name}:${t.partitions}`)],
    { stdio: ['pipe', 'pipe', 'pipe'], detached: true },
  );
  track(child);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const lines = createInterface({ input: child.stdout });
  const iterator = lines[Symbol.asyncIterator]();
  const exited = once(child, 'exit');

  const nextLine = async (): Promise<string> => {
    const next = await Promise.race([
      iterator.next(),
      exited.then(() => ({ done: true as const, value: undefined })),
    ]);
    if (next.done) throw new Error(`mock Kafka cluster exited: ${stderr.trim()}`);
    return next.value;
  };

  const ready = await nextLine();
  if (!ready.startsWith('READY ')) throw new Error(`mock Kafka cluster did not start: ${ready} ${stderr}`);
  const bootstrapServers = ready.slice('READY '.length).trim();

  let queue = Promise.resolve();
  const command = (line: string): Promise<void> => {
    const run = queue.then(async () => {
      child.stdin.write(`${line}\n`);
      const answer = await nextLine();
      if (answer !== 'OK') throw new Error(`mock Kafka cluster refused "${line}": ${answer}`);
    });
    queue = run.catch(() => undefined);
    return run;
  };

  return {
    bootstrapServers,
    brokers: bootstrapServers.split(','),
    createTopic: (topic) => command(`topic ${topic.name} ${topic.partitions}`),
    setBrokerDown: (id) => command(`down ${id}`),
    setBrokerUp: (id) => command(`up ${id}`),
    setRtt: (id, ms) => command(`rtt ${id} ${ms}`),
    failRequests: (apiKey, count, code) => command(`errors ${apiKey} ${count} ${code}`),
    async stop() {
      if (child.exitCode !== null) return;
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
