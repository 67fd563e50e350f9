import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { peeringPairs } from '../plan.js';
import { MSK_IAM_PORT, type Network } from './network.js';

export interface PeeringRegion {
  readonly name: string;
  readonly provider: aws.Provider;
  readonly network: Network;
}

/**
 * `crossRegion: direct`: gateways read the other regions' clusters themselves. One inter-region
 * VPC peering per unordered pair, routes both ways in the task and broker route tables, and
 * broker ingress on 9098 from the peer's CIDR (security groups cannot reference a group across
 * regions, so the peer VPC's CIDR is the narrowest rule available).
 */
export class DirectConnectivity extends pulumi.ComponentResource {
  readonly connections: aws.ec2.VpcPeeringConnection[] = [];

  constructor(
    name: string,
    args: { readonly regions: readonly PeeringRegion[] },
    opts: pulumi.ComponentResourceOptions = {},
  ) {
    super('wsgw:aws:DirectConnectivity', name, {}, opts);
    const byName = new Map(args.regions.map((r) => [r.name, r]));

    for (const pair of peeringPairs(args.regions.map((r) => r.name))) {
      const a = byName.get(pair.source)!;
      const b = byName.get(pair.target)!;
      const id = `${name}-${a.name}-${b.name}`;
      const peering = new aws.ec2.VpcPeeringConnection(
        id,
        { vpcId: a.network.vpcId, peerVpcId: b.network.vpcId, peerRegion: b.name, tags: { Name: id } },
        { parent: this, provider: a.provider },
      );
      // Cross-region peering cannot auto-accept from the requester side.
      const accepted = new aws.ec2.VpcPeeringConnectionAccepter(
        id,
        { vpcPeeringConnectionId: peering.id, autoAccept: true, tags: { Name: id } },
        { parent: this, provider: b.provider },
      );
      this.connections.push(peering);

      for (const [self, peer] of [
        [a, b],
        [b, a],
      ] as const) {
        const o = { parent: this, provider: self.provider, dependsOn: [accepted] };
        self.network.routeTableIds.forEach((routeTableId, i) => {
          new aws.ec2.Route(
            `${id}-${self.name}-route-${i}`,
            { routeTableId, destinationCidrBlock: peer.network.cidr, vpcPeeringConnectionId: peering.id },
            o,
          );
        });
        new aws.vpc.SecurityGroupIngressRule(
          `${id}-${self.name}-msk-in`,
          {
            securityGroupId: self.network.mskSecurityGroup.id,
            cidrIpv4: peer.network.cidr,
            ipProtocol: 'tcp',
            fromPort: MSK_IAM_PORT,
            toPort: MSK_IAM_PORT,
            description: `gateways in ${peer.name}`,
          },
          o,
        );
        new aws.vpc.SecurityGroupEgressRule(
          `${id}-${self.name}-tasks-out`,
          {
            securityGroupId: self.network.taskSecurityGroup.id,
            cidrIpv4: peer.network.cidr,
            ipProtocol: 'tcp',
            fromPort: MSK_IAM_PORT,
            toPort: MSK_IAM_PORT,
            description: `brokers in ${peer.name}`,
          },
          o,
        );
      }
    }
    this.registerOutputs({});
  }
}
