import { describeDeployment, generatedConfig } from './deployment.js';

describeDeployment('a generated stack with 1 region, MSK Replicator', {
  stack: 'gen1',
  config: generatedConfig(1),
});
