import { describeDeployment, generatedConfig } from './deployment.js';

// An existing VPC in one region, a prebuilt image from ECR and JWKS auth: nothing built, no JWT secret.
const config = generatedConfig(2);
config['wsgw:regions'] = [
  {
    name: 'us-east-1',
    minTasks: 2,
    maxTasks: 6,
    vpc: {
      id: 'vpc-0abc123',
      publicSubnetIds: ['subnet-0a1', 'subnet-0b1'],
      privateSubnetIds: ['subnet-0a2', 'subnet-0b2'],
    },
  },
  { name: 'eu-west-1', cidr: '10.17.0.0/16', minTasks: 2, maxTasks: 6 },
];
config['wsgw:image'] = '123456789012.dkr.ecr.us-east-1.amazonaws.com/team/wsgw:1.4.2';
config['wsgw:jwksUrl'] = 'https://id.example.org/.well-known/jwks.json';
describeDeployment('existing VPC, prebuilt image, JWKS auth', { stack: 'byo', config, secrets: {} });
