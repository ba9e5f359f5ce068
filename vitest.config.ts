import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'examples/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // The integration tests start their own redis-server and Kafka broker per file.
    fileParallelism: true,
    env: {
      POWERTOOLS_METRICS_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      KAFKAJS_NO_PARTITIONER_WARNING: '1',
    },
  },
});
