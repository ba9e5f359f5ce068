/**
 * Hands kafkajs's Produce requests (versions 3 and up) to the lean encoder of produce-request.ts.
 *
 * kafkajs has no extension point for its wire encoding, so this wraps the one function its broker
 * calls to build a Produce request (`requests.Produce.protocol`), keeping kafkajs's request (API key,
 * version, whether a response is expected) and response decoder, and replacing only `encode`.
 * It is safe because the output is byte-identical to kafkajs's own (test/functions/shared/kafka/
 * produce-request.test.ts compares them, for every version kafkajs negotiates) and kafkajs is pinned
 * by the lock file; it is process-wide, so every kafkajs producer in the process gains.
 */
import KafkaEncoder from 'kafkajs/src/protocol/encoder.js';
import produceRequests from 'kafkajs/src/protocol/requests/produce/index.js';
import { encodeProduceRequest, isLeanCompression, type ProduceRequestArgs } from './produce-request';

const LEAN = Symbol.for('surge.leanProduceEncoding');

/** The first Produce version whose body this encoder writes (v3 added the transactional id). */
const FIRST_LEAN_VERSION = 3;

type Build = (args: ProduceRequestArgs) => {
  request: { encode: () => Promise<unknown>; [field: string]: unknown };
  [field: string]: unknown;
};
type Protocol = ((options: { version: number | string }) => Build) & { [LEAN]?: true };

/** Idempotent: installs the lean encoder once per process. */
export function useLeanProduceEncoding(): void {
  const original = produceRequests.protocol as Protocol;
  if (original[LEAN]) return;
  const lean: Protocol = ({ version }) => {
    const build = original({ version });
    if (Number(version) < FIRST_LEAN_VERSION) return build;
    return (args) => {
      const built = build(args);
      if (!isLeanCompression(args.compression)) return built;
      return {
        ...built,
        request: {
          ...built.request,
          encode: async () => {
            const body = await encodeProduceRequest(args);
            // kafkajs frames the body by reading an encoder's buffer.
            return new KafkaEncoder(body.length).writeBuffer(body);
          },
        },
      };
    };
  };
  lean[LEAN] = true;
  produceRequests.protocol = lean;
}
