import { describeDeployment, generatedConfig } from './deployment.js';

// Cross-region "direct": no replicators, VPC peering and remote reads instead.
describeDeployment('a generated stack with 3 regions, direct consumption, zone-local reads', {
  stack: 'direct3',
  config: generatedConfig(3, 'direct', { zoneLocalReads: true }),
});
