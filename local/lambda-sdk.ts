import { existsSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PROJECT_NODE_MODULES = fileURLToPath(new URL('../node_modules/', import.meta.url));

/**
 * Makes a bundle in `dir` resolve the AWS SDK clients the way it does in Lambda's Node.js runtime,
 * which provides them (the bundle leaves `@aws-sdk/client-*` out): nothing else is provided.
 * Calling it again for the same directory changes nothing.
 */
export function provideRuntimeSdkClients(dir: string): void {
  const sdk = join(dir, 'node_modules', '@aws-sdk');
  mkdirSync(sdk, { recursive: true });
  for (const client of readdirSync(join(PROJECT_NODE_MODULES, '@aws-sdk')).filter((p) =>
    p.startsWith('client-'),
  )) {
    const link = join(sdk, client);
    if (!existsSync(link)) symlinkSync(join(PROJECT_NODE_MODULES, '@aws-sdk', client), link);
  }
}
