import { describeDeployment, generatedConfig } from './deployment.js';

// Bus redis on ElastiCache Serverless in two regions behind NLBs: RBAC users, the reader port,
// direct reads of the other region's cache over peering, and the task role's certificate export.
describeDeployment('a generated stack with 2 regions on serverless Redis behind NLBs', {
  stack: 'redis2',
  config: {
    ...generatedConfig(2),
    'wsgw:bus': 'redis',
    'wsgw:edge': 'nlb',
    'wsgw:redis': { mode: 'serverless', engineVersion: '8.0', maxDataGB: 2, maxEcpuPerSecond: 10000 },
  },
});
