// npm's postinstall: applies patches/*.patch with patch-package when this repository is the project
// being installed. As another project's dependency (inside its node_modules), Surge uses that
// project's kafkajs, which is not Surge's to patch: it is left as it is, and works, only slower
// (docs/architecture.md, "kafkajs").
import { spawnSync } from 'node:child_process';
import { sep } from 'node:path';

if (process.cwd().split(sep).includes('node_modules')) process.exit(0);
const run = spawnSync('patch-package', ['--error-on-fail'], { stdio: 'inherit' });
if (run.error) throw run.error;
process.exit(run.status ?? 1);
