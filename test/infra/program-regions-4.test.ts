import { describeDeployment, generatedConfig } from './deployment.js';

describeDeployment('a generated stack with 4 regions, MSK Replicator', {
  stack: 'gen4',
  config: generatedConfig(4),
});
