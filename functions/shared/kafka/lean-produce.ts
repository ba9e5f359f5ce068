/**
 * Hands kafkajs's Produce requests (versions 3 to 8) to the lean encoder of produce-request.ts.
 *
 * kafkajs has no extension point for its wire encoding, so this wraps the one function its broker
 * calls to build a Produce request (`requests.Produce.protocol`), keeping kafkajs's request (API key,
 * version, whether a response is expected) and response decoder, and replacing only `encode`.
 * It is safe because the output is byte-identical to kafkajs's own (compared in
 * test/functions/shared/kafka/produce-request.test.ts) and kafkajs is pinned to the exact version
 * those tests ran against (package.json). It is process-wide, so every kafkajs producer in the
 * process gains. KAFKA_LEAN_ENCODER=false leaves kafkajs's own encoder in place (the escape hatch).
 */
import KafkaEncoder from 'kafkajs/src/protocol/encoder.js';
import produceRequests from 'kafkajs/src/protocol/requests/produce/index.js';
import { encodeProduceRequest, isLeanCompression, type ProduceRequestArgs } from './produce-request';

const LEAN = Symbol.for('surge.leanProduceEncoding');

/**
 * The Produce versions whose body this encoder writes: v3 added the transactional id, v9 moved
 * to the flexible (tagged-field) encoding. kafkajs 2 speaks up to v7; a later one that spoke v9
 * would keep its own encoder.
 */
export function isLeanProduceVersion(version: number | string): boolean {
  const v = Number(version);
  return v >= 3 && v <= 8;
}

type Build = (args: ProduceRequestArgs) => {
  request: { encode: () => Promise<unknown>; [field: string]: unknown };
  [field: string]: unknown;
};
type Protocol = ((options: { version: number | string }) => Build) & { [LEAN]?: true };

/** Whether this process's kafkajs producers encode through the lean encoder. */
export function isLeanProduceEncodingInstalled(): boolean {
  return (produceRequests.protocol as Protocol)[LEAN] === true;
}

/**
 * kafkajs frames a request body by reading an encoder's buffer: this one holds the body itself,
 * where writing it into a new encoder would copy a produce request of megabytes once more.
 */
function encoderHolding(body: Buffer): KafkaEncoder {
  const encoder = new KafkaEncoder(0);
  encoder.buf = body;
  encoder.offset = body.length;
  return encoder;
}

/** Idempotent: installs the lean encoder once per process. */
export function useLeanProduceEncoding(): void {
  const original = produceRequests.protocol as Protocol;
  if (original[LEAN]) return;
  const lean: Protocol = ({ version }) => {
    const build = original({ version });
    if (!isLeanProduceVersion(version)) return build;
    return (args) => {
      const built = build(args);
      if (!isLeanCompression(args.compression)) return built;
      return {
        ...built,
        request: {
          ...built.request,
          encode: async () => encoderHolding(await encodeProduceRequest(args)),
        },
      };
    };
  };
  lean[LEAN] = true;
  produceRequests.protocol = lean;
}
