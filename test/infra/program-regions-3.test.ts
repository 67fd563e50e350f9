import { describeDeployment, generatedConfig } from './deployment.js';

describeDeployment('a generated stack with 3 regions, MSK Replicator, zone-local reads', {
  stack: 'gen3',
  config: generatedConfig(3, 'replicator', { zoneLocalReads: true }),
});
