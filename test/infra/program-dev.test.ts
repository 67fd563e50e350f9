import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readStackFile } from '../../infra/stack-config.js';
import { describeDeployment } from './deployment.js';

const file = join(fileURLToPath(new URL('../../', import.meta.url)), 'Pulumi.dev.yaml');
describeDeployment('Pulumi.dev.yaml', { stack: 'dev', config: readStackFile(file) });
