// The testbed from node:test rather than vitest: run with `node --import tsx --test examples/node-test.example.ts`.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mskEvent, reading, startTestbed, type Testbed } from 'surge/testing';

let bed: Testbed;
before(async () => {
  bed = await startTestbed();
});
after(() => bed.close());

test('a reading becomes its device aggregate', async () => {
  await bed.analytics(mskEvent([reading({ deviceId: 'node-test-1', temperature: 42 })]));
  const device = await bed.device('node-test-1');
  assert.equal(device?.count, 1);
  assert.equal(device?.temperature.max, 42);
});
