/**
 * Every error Surge raises is a SurgeError. The split that matters to the platform:
 * - InvalidEventError: the invocation itself is malformed; retrying cannot help, so the message says what is wrong.
 * - InfrastructureError: Redis or Kafka failed; the handler lets it escape so the event source mapping retries.
 * - ConfigurationError: a setting is wrong; raised at cold start, naming the setting.
 * Bad records are not errors: they are quarantined (see functions/analytics/decode.ts).
 */
// Names are spelled out: a minified bundle renames classes, and logs must still say what failed.
export class SurgeError extends Error {
  override name = 'SurgeError';
}

export class ConfigurationError extends SurgeError {
  override name = 'ConfigurationError';
}

export class InvalidEventError extends SurgeError {
  override name = 'InvalidEventError';
}

export class InfrastructureError extends SurgeError {
  override name = 'InfrastructureError';
}

export class RedisError extends InfrastructureError {
  override name = 'RedisError';
}

export class KafkaError extends InfrastructureError {
  override name = 'KafkaError';
}
