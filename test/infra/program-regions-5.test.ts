import { describeDeployment, generatedConfig } from './deployment.js';

describeDeployment('a generated stack with 5 regions, MSK Replicator', {
  stack: 'gen5',
  config: generatedConfig(5),
});
