import { Token } from 'aws-cdk-lib';
import { FUNCTION_MEMORY_MB } from '../../functions/shared/config';

/**
 * The limits of the settings that both the stage configuration and a construct take, defined once.
 * The stage configuration reports every setting outside its limit at once (stage-config.ts); the
 * construct that takes the value checks it again for those who use the construct on its own, with
 * the same limit and the same message.
 */
export interface WholeNumberLimit {
  readonly min: number;
  readonly max: number;
}

export const LIMITS = {
  /** @see https://docs.aws.amazon.com/msk/latest/developerguide/limits.html (brokers per cluster) */
  brokersPerAz: { min: 1, max: 10 },
  /** @see https://docs.aws.amazon.com/msk/latest/developerguide/msk-update-storage.html */
  volumeSizeGiB: { min: 1, max: 16_384 },
  topicPartitions: { min: 1, max: 1_000 },
  /** @see https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/Replication.html (up to 5 read replicas) */
  cacheReplicas: { min: 0, max: 5 },
  /** As the functions read AWS_LAMBDA_FUNCTION_MEMORY_SIZE (functions/shared/config.ts). */
  functionMemoryMb: FUNCTION_MEMORY_MB,
} as const satisfies Record<string, WholeNumberLimit>;

/** The V8 young generation may take at most an eighth of the function's memory. */
export function semiSpaceLimit(memoryMb: number): WholeNumberLimit {
  return { min: 1, max: Math.max(1, Math.floor(memoryMb / 8)) };
}

/** The semi-space a process starts with is at most the one it may grow to. */
export function initialSemiSpaceLimit(semiSpaceMb: number): WholeNumberLimit {
  return { min: 0, max: semiSpaceMb };
}

/** What is wrong with `value` as the setting `name` within `limit`, or undefined when nothing is. */
export function wholeNumberProblem(
  name: string,
  value: unknown,
  limit: WholeNumberLimit,
): string | undefined {
  const ok = typeof value === 'number' && Number.isInteger(value) && value >= limit.min && value <= limit.max;
  return ok
    ? undefined
    : `${name} must be a whole number from ${limit.min} to ${limit.max}, got ${JSON.stringify(value)}`;
}

/** Throws the problem of `value` within `limit`; a token, unknown until deployment, passes. */
export function assertWithin(name: string, value: number, limit: WholeNumberLimit): void {
  if (Token.isUnresolved(value)) return;
  const problem = wholeNumberProblem(name, value, limit);
  if (problem !== undefined) throw new Error(problem);
}
