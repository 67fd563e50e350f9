import { describeDeployment, generatedConfig } from './deployment.js';

describeDeployment('a generated stack with 2 regions, MSK Replicator', {
  stack: 'gen2',
  config: generatedConfig(2),
});
