// Imported first by the local entry points: Powertools reads these when the handler modules load.
// Locally, metrics would only print CloudWatch EMF documents and INFO logs would drown the status view.
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';
