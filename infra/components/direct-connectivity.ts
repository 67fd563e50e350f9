import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { peeringPairs } from '../plan.js';
import { MSK_IAM_PORT, type Network } from './network.js';

export interface PeeringRegion {
  readonly name: string;
  readonly provider: aws.Provider;
  readonly network: Network;
}

/** What the peers' tasks reach over the peering: the brokers on 9098, or the cache on 6379(-6380). */
export interface PeeredBus {
  /** Part of the rules' names: `msk` (the names deployed stacks have) or `redis`. */
  readonly name: 'msk' | 'redis';
  readonly ports: { readonly from: number; readonly to: number };
  /** The group of a region's brokers or cache. */
  readonly securityGroup: (network: Network) => aws.ec2.SecurityGroup;
}

/** Kafka in `direct` mode: the brokers' IAM listener. */
export const PEERED_MSK: PeeredBus = {
  name: 'msk',
  ports: { from: MSK_IAM_PORT, to: MSK_IAM_PORT },
  securityGroup: (n) => n.mskSecurityGroup!,
};

/**
 * `crossRegion: direct` (and bus `redis`): gateways read the other regions' clusters or caches
 * themselves. One inter-region VPC peering per unordered pair, routes both ways in the task and
 * broker route tables, and ingress to the brokers (9098) or the cache (6379, 6380 serverless) from
 * the peer's CIDR (security groups cannot reference a group across regions, so the peer VPC's CIDR
 * is the narrowest rule available).
 */
export class DirectConnectivity extends pulumi.ComponentResource {
  readonly connections: aws.ec2.VpcPeeringConnection[] = [];

  constructor(
    name: string,
    args: { readonly regions: readonly PeeringRegion[]; readonly bus?: PeeredBus },
    opts: pulumi.ComponentResourceOptions = {},
  ) {
    super('wsgw:aws:DirectConnectivity', name, {}, opts);
    const byName = new Map(args.regions.map((r) => [r.name, r]));
    const bus = args.bus ?? PEERED_MSK;
    const what = bus.name === 'msk' ? 'brokers' : 'cache';

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
          `${id}-${self.name}-${bus.name}-in`,
          {
            securityGroupId: bus.securityGroup(self.network).id,
            cidrIpv4: peer.network.cidr,
            ipProtocol: 'tcp',
            fromPort: bus.ports.from,
            toPort: bus.ports.to,
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
            fromPort: bus.ports.from,
            toPort: bus.ports.to,
            description: `${what} in ${peer.name}`,
          },
          o,
        );
      }
    }
    this.registerOutputs({});
  }
}
