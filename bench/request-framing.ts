/**
 * kafkajs's request framing (protocol/request.js) as patches/kafkajs+2.2.4.patch leaves it, against
 * the framing kafkajs ships: the time to frame a produce request the size of half a fleet batch's
 * summaries (1.1 MB), median of 30 rounds of 20 requests. The result is written in
 * docs/architecture.md ("The framing patch").
 *
 *   npx tsx bench/request-framing.ts
 */
import Encoder from 'kafkajs/src/protocol/encoder.js';
import createRequest from 'kafkajs/src/protocol/request.js';
import { summarize } from './stats';

type Framing = typeof createRequest;

/** kafkajs 2.2.4's request.js, as it ships. */
const shipped: Framing = async ({ correlationId, clientId, request: { apiKey, apiVersion, encode } }) => {
  const payload = await encode();
  const requestPayload = new Encoder()
    .writeInt16(apiKey)
    .writeInt16(apiVersion)
    .writeInt32(correlationId)
    .writeString(clientId)
    .writeEncoder(payload);
  return new Encoder().writeInt32(requestPayload.size()).writeEncoder(requestPayload);
};

const body = Buffer.alloc(1_100_000, 7);
// As lean-produce.ts hands it over: an encoder holding the body.
const request = {
  apiKey: 0,
  apiVersion: 7,
  encode: async () => {
    const encoder = new Encoder(0);
    encoder.buf = body;
    encoder.offset = body.length;
    return encoder;
  },
};

async function round(frame: Framing): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < 20; i++) await frame({ correlationId: i, clientId: 'surge', request });
  return (performance.now() - start) / 20;
}

const samples: Record<'shipped' | 'patched', number[]> = { shipped: [], patched: [] };
for (let i = 0; i < 33; i++) {
  // Taking turns, so that the machine's drift falls on both; the first three rounds warm up.
  const a = await round(shipped);
  const b = await round(createRequest);
  if (i < 3) continue;
  samples.shipped.push(a);
  samples.patched.push(b);
}
const same = (await createRequest({ correlationId: 1, clientId: 'surge', request })).buffer.equals(
  (await shipped({ correlationId: 1, clientId: 'surge', request })).buffer,
);
for (const [name, ms] of Object.entries(samples)) {
  const { median, min, max } = summarize(ms);
  console.log(
    `${name}: ${median.toFixed(3)} ms per 1.1 MB request (min ${min.toFixed(3)}, max ${max.toFixed(3)})`,
  );
}
console.log(`same bytes: ${same}`);
