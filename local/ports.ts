import { createServer } from 'node:net';

/** A port that was free on 127.0.0.1 a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A free port whose companion `port + offset` is free too (a Redis Cluster node's bus port). */
export async function freePortWithCompanion(offset: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await freePort();
    if (port + offset <= 65_535 && (await canBind(port + offset))) return port;
  }
  throw new Error(`no free port with a free companion port ${offset} above it`);
}

const BIND_RACE = /Address already in use|EADDRINUSE/;

/**
 * Starts a server on a port picked by `pick`, picking again when another process took the port
 * between the pick and the bind (tests start servers in parallel).
 */
export async function onFreePort<T>(
  pick: () => Promise<number>,
  start: (port: number) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const port = await pick();
    try {
      return await start(port);
    } catch (error) {
      if (attempt >= 5 || !BIND_RACE.test(String((error as Error).message))) throw error;
    }
  }
}
