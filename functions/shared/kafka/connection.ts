/** What kafkajs's producers, consumers and admin clients have in common. */
interface KafkaClient {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
}

/**
 * A kafkajs client's connection, made on first use and shared by every caller meanwhile. A failed
 * attempt is forgotten, so the next use tries again (the event source mapping retries the batch).
 */
export class KafkaConnection {
  private connected: Promise<void> | undefined;

  constructor(private readonly client: KafkaClient) {}

  ready(): Promise<void> {
    if (this.connected === undefined) {
      this.connected = this.client.connect().catch((error: unknown) => {
        this.connected = undefined;
        throw error;
      });
    }
    return this.connected;
  }

  /** Disconnects if a connection was made or is being made. */
  async close(): Promise<void> {
    const connected = this.connected;
    this.connected = undefined;
    if (connected !== undefined) await this.client.disconnect();
  }
}
