/**
 * Surge's testing kit: what you need to test Surge's handlers (or code around them) against real
 * servers, without reading Surge's source. `import { startTestbed, reading, mskEvent } from 'surge/testing'`.
 *
 * - `startTestbed()` starts redis-server and a Kafka broker with Surge's topics, sets the
 *   handlers' environment, and reads back what the handlers stored and published.
 * - `reading()`, `encodeReading()`, `mskEvent()` and `httpRequest()` build the inputs: readings,
 *   their bytes, MSK events and API Gateway events.
 *
 * The README's "Using the handlers in your own tests" has a complete test; `examples/` has one per
 * pattern (asserting aggregates, asserting outputs, injecting a fault).
 */
export {
  type Encoding,
  encodeReading,
  httpRequest,
  type MskEventOptions,
  mskEvent,
  type RecordSpec,
  reading,
  TestingKitError,
} from './builders';
export {
  type Faults,
  type OutputMessage,
  type QueryResponse,
  startTestbed,
  type Testbed,
  type TestbedOptions,
} from './testbed';
