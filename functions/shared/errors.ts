/**
 * Every error Surge raises is a SurgeError. The split that matters to the platform:
 * - InvalidEventError: the invocation itself is malformed; retrying cannot help, so the message says what is wrong.
 * - InfrastructureError: Redis or Kafka failed; the handler lets it escape so the event source mapping retries.
 * - ConfigurationError: a setting is wrong; raised at cold start, naming the setting.
 * Bad records are not errors: they are quarantined (see functions/analytics/decode.ts).
 */
export class SurgeError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class ConfigurationError extends SurgeError {}

export class InvalidEventError extends SurgeError {}

export class InfrastructureError extends SurgeError {}

export class RedisError extends InfrastructureError {}

export class KafkaError extends InfrastructureError {}

/** The message of anything thrown, for logs and dead-letter headers. */
export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
