import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/constructs/surge-function';

/**
 * The layers' direction (domain ← store/publisher ← functions) is a Biome rule that `npm test`
 * runs before anything else; this proves the rule refuses what it is meant to refuse.
 */
function lint(file: string, source: string): { status: number | null; output: string } {
  const path = join(PROJECT_ROOT, file);
  writeFileSync(path, source);
  try {
    const result = spawnSync('npx', ['biome', 'lint', '--colors=off', file], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  } finally {
    rmSync(path, { force: true });
  }
}

describe('the layering rule', () => {
  it.each([
    [
      'functions/shared/redis/layering-probe.ts',
      "import { createBatchProcessor } from '../../analytics/processor';",
    ],
    ['functions/domain/layering-probe.ts', "import { RedisError } from '../shared/errors';"],
    ['functions/domain/layering-probe.ts', "import { readFileSync } from 'node:fs';"],
    ['functions/query/layering-probe.ts', "import { classifyRecord } from '../analytics/decode';"],
  ])('refuses in %s: %s', (file, line) => {
    const { status, output } = lint(file, `${line}\nexport const probe = 1;\n`);
    expect(status).not.toBe(0);
    expect(output).toContain('lint/style/noRestrictedImports');
  });

  it('lets a function import the domain and the shared ports', () => {
    const { status, output } = lint(
      'functions/query/layering-probe.ts',
      "import { DEVICE_ID_PATTERN } from '../domain/validate';\nimport { RedisError } from '../shared/errors';\nexport const probe = [DEVICE_ID_PATTERN, RedisError];\n",
    );
    expect(output).not.toContain('noRestrictedImports');
    expect(status).toBe(0);
  });
});
