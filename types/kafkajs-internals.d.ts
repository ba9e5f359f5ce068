/**
 * The kafkajs internals that functions/shared/kafka/lean-produce.ts touches and that
 * patches/kafkajs+2.2.4.patch changes (kafkajs ships no types for them). kafkajs is pinned by the lock file; the tests compare the bytes with its own.
 */
declare module 'kafkajs/src/protocol/encoder.js' {
  export default class Encoder {
    constructor(initialSize?: number);
    /** The bytes written are buf[0, offset). */
    buf: Buffer;
    offset: number;
    writeBuffer(value: Buffer): Encoder;
    get buffer(): Buffer;
  }
}

declare module 'kafkajs/src/protocol/requests/produce/index.js' {
  type ProduceRequestArgs = import('../functions/shared/kafka/produce-request').ProduceRequestArgs;
  const produce: {
    versions: string[];
    protocol: (options: { version: number | string }) => (args: ProduceRequestArgs) => {
      request: { encode: () => Promise<unknown>; [field: string]: unknown };
      [field: string]: unknown;
    };
  };
  export default produce;
}

declare module 'kafkajs/src/protocol/requests/produce/v3/request.js' {
  const request: (args: unknown) => { encode: () => Promise<{ buffer: Buffer }> };
  export default request;
}

/** Patched by patches/kafkajs+2.2.4.patch (test/functions/shared/kafka/kafkajs-patch.test.ts). */
declare module 'kafkajs/src/producer/groupMessagesPerPartition.js' {
  type PartitionerArgs = import('kafkajs').PartitionerArgs;
  type Message = import('kafkajs').Message;
  function groupMessagesPerPartition(args: {
    topic: string;
    partitionMetadata: PartitionerArgs['partitionMetadata'];
    messages: Message[];
    partitioner: (args: PartitionerArgs) => number;
  }): Record<number, Message[]>;
  export default groupMessagesPerPartition;
}
