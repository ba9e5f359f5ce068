import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort, onFreePort } from '../../local/ports';

describe('onFreePort', () => {
  it('picks another port when the first one was taken between the pick and the bind', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', () => resolve()));
    const busy = (taken.address() as { port: number }).port;
    const picks: number[] = [];
    try {
      const bound = await onFreePort(
        async () => {
          const port = picks.length === 0 ? busy : await freePort();
          picks.push(port);
          return port;
        },
        async (port) => {
          // A server's bind on a port another process holds fails like redis-server's does.
          if (port === busy)
            throw new Error(`Could not create server TCP listening socket: bind: Address already in use`);
          return port;
        },
      );
      expect(picks[0]).toBe(busy);
      expect(bound).not.toBe(busy);
      expect(picks).toHaveLength(2);
    } finally {
      taken.close();
    }
  });

  it('gives up on errors that are not a bind race', async () => {
    await expect(
      onFreePort(freePort, async () => {
        throw new Error('redis-server: bad config');
      }),
    ).rejects.toThrow('bad config');
  });
});
