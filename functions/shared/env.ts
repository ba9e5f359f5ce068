import { ConfigurationError } from './errors';

/**
 * Reading one environment variable, checked: the parts config.ts reads its settings with. A
 * blank value is an unset one; a wrong one is a ConfigurationError that names the variable.
 */

export type Env = Readonly<Record<string, string | undefined>>;

export function optional(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

export function required(env: Env, name: string): string {
  const value = optional(env, name);
  if (value === undefined) throw new ConfigurationError(`${name} must be set`);
  return value;
}

export function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const value = optional(env, name) ?? fallback;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new ConfigurationError(`${name} must be one of ${allowed.join(', ')}, got "${value}"`);
  }
  return value as T;
}

export function bool(env: Env, name: string, fallback: boolean): boolean {
  const value = optional(env, name)?.toLowerCase();
  if (value === undefined) return fallback;
  if (['true', '1', 'yes'].includes(value)) return true;
  if (['false', '0', 'no'].includes(value)) return false;
  throw new ConfigurationError(`${name} must be true or false, got "${env[name]}"`);
}

export function number(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = optional(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new ConfigurationError(`${name} must be a number from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

/** A whole number from min to max. */
export function wholeNumber(env: Env, name: string, fallback: number, min: number, max: number): number {
  const value = number(env, name, fallback, min, max);
  if (!Number.isInteger(value))
    throw new ConfigurationError(`${name} must be a whole number, got "${env[name]?.trim()}"`);
  return value;
}
