import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readStackFile } from '../../infra/stack-config.js';
import { describeDeployment } from './deployment.js';

const file = join(fileURLToPath(new URL('../../', import.meta.url)), 'Pulumi.prod.yaml');
describeDeployment('Pulumi.prod.yaml', {
  stack: 'prod',
  config: readStackFile(file),
  secrets: { jwtSecret: 'prod-secret-0123456789', publishKey: 'publish-key-0123456789' },
});
