import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readStackFile } from '../../infra/stack-config.js';
import { describeDeployment } from './deployment.js';

const file = join(fileURLToPath(new URL('../../', import.meta.url)), 'Pulumi.small.yaml');
describeDeployment('Pulumi.small.yaml', { stack: 'small', config: readStackFile(file) });
