import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { DEFAULT_PORT } from '../../services/shared/src/constants.js';
import type { Bus, Edge, ExistingVpcConfig, NatMode } from '../stack-config.js';
import { PUBLIC_PORTS, REDIRECT_PORT, planSubnets } from '../plan.js';

/** MSK's IAM listener (SASL/IAM over TLS). */
export const MSK_IAM_PORT = 9098;

export interface NetworkArgs {
  readonly region: string;
  /** A /16 for a created VPC; ignored with `existingVpc`. */
  readonly cidr?: string;
  readonly azCount: number;
  readonly nat: NatMode;
  readonly existingVpc?: ExistingVpcConfig;
  /** Create the security group the ENIs of the replicators into this region use (replicator mode with several regions). */
  readonly replicator: boolean;
  /** The load balancer in front of the tasks: an NLB also reaches the tasks' redirect port. */
  readonly edge: Edge;
  /** `kafka`: the MSK group on 9098; `redis`: the cache's group on `redisPorts` instead. */
  readonly bus: Bus;
  /** The ports the cache listens on (bus `redis`): 6379, and 6380 for a serverless reader endpoint. */
  readonly redisPorts?: { readonly from: number; readonly to: number };
}

/**
 * One region's network: a VPC over `azCount` AZs (or an existing one), the NAT choice, and the
 * four security groups whose rules encode who may talk to whom:
 *
 *   internet --80/443--> alb --8080--> tasks --9098--> msk <--9098-- replicator
 *   internet --80/443--> nlb --8080 (TLS), 8081 (redirect)--> tasks            (wsgw:edge nlb)
 *   tasks --6379(-6380)--> redis                           (wsgw:bus redis, instead of msk)
 *
 * No group but the load balancer's admits anything from 0.0.0.0/0. Rules are standalone resources (not
 * inline blocks) so peering can add its CIDR rules without fighting over the group.
 */
export class Network extends pulumi.ComponentResource {
  readonly vpcId: pulumi.Output<string>;
  readonly cidr: pulumi.Output<string>;
  readonly publicSubnetIds: pulumi.Output<string>[];
  readonly privateSubnetIds: pulumi.Output<string>[];
  /** Where tasks run: private subnets, or public ones when there is no NAT. */
  readonly taskSubnetIds: pulumi.Output<string>[];
  readonly assignPublicIp: boolean;
  /** Route tables of the task and broker subnets (peering adds routes here). */
  readonly routeTableIds: pulumi.Output<string>[];
  /**
   * The region's zone names mapped to zone ids. MSK names each broker's rack by its zone id, and
   * zone names map to different ids in different accounts; gateways look their rack up here.
   */
  readonly zoneIds: pulumi.Output<Record<string, string>>;
  /** The load balancer's group (the ALB's, or the NLB's: an NLB takes security groups only when it is created). */
  readonly lbSecurityGroup: aws.ec2.SecurityGroup;
  readonly taskSecurityGroup: aws.ec2.SecurityGroup;
  /** Bus `kafka`: the brokers' group. */
  readonly mskSecurityGroup?: aws.ec2.SecurityGroup;
  /** Bus `redis`: the cache's group. */
  readonly redisSecurityGroup?: aws.ec2.SecurityGroup;
  readonly replicatorSecurityGroup?: aws.ec2.SecurityGroup;

  constructor(name: string, args: NetworkArgs, opts: pulumi.ComponentResourceOptions) {
    super('wsgw:aws:Network', name, {}, opts);
    const o = { parent: this };

    // Exclude Local/Wavelength zones: ALB, MSK and Fargate are not offered there.
    const azs = aws.getAvailabilityZonesOutput(
      { state: 'available', filters: [{ name: 'opt-in-status', values: ['opt-in-not-required'] }] },
      o,
    );
    this.zoneIds = pulumi
      .all([azs.names, azs.zoneIds])
      .apply(([names, ids]) =>
        Object.fromEntries(names.map((n, i) => [n, ids[i]!] as const).filter(([, id]) => id)),
      );

    if (args.existingVpc) {
      const v = args.existingVpc;
      this.vpcId = pulumi.output(v.id);
      this.cidr = v.cidr ? pulumi.output(v.cidr) : aws.ec2.getVpcOutput({ id: v.id }, o).cidrBlock;
      this.publicSubnetIds = v.publicSubnetIds.map((s) => pulumi.output(s));
      this.privateSubnetIds = v.privateSubnetIds.map((s) => pulumi.output(s));
      this.taskSubnetIds = this.privateSubnetIds;
      this.assignPublicIp = false;
      this.routeTableIds = (v.privateRouteTableIds ?? []).map((r) => pulumi.output(r));
    } else {
      if (!args.cidr) throw new Error(`${name}: a created VPC needs a CIDR`);
      const plan = planSubnets(args.cidr, args.azCount);
      const vpc = new aws.ec2.Vpc(
        `${name}-vpc`,
        { cidrBlock: args.cidr, enableDnsHostnames: true, enableDnsSupport: true, tags: { Name: name } },
        o,
      );
      const igw = new aws.ec2.InternetGateway(`${name}-igw`, { vpcId: vpc.id }, o);
      const publicRt = new aws.ec2.RouteTable(
        `${name}-public`,
        { vpcId: vpc.id, routes: [{ cidrBlock: '0.0.0.0/0', gatewayId: igw.id }] },
        o,
      );

      const publicSubnets = plan.public.map((cidrBlock, az) => {
        const subnet = new aws.ec2.Subnet(
          `${name}-public-${az}`,
          // No auto public IP: only NAT gateways and (with nat "none") tasks get one, explicitly.
          {
            vpcId: vpc.id,
            cidrBlock,
            availabilityZone: azs.names[az]!,
            mapPublicIpOnLaunch: false,
            tags: { Name: `${name}-public-${az}` },
          },
          o,
        );
        new aws.ec2.RouteTableAssociation(
          `${name}-public-${az}`,
          { subnetId: subnet.id, routeTableId: publicRt.id },
          o,
        );
        return subnet;
      });

      const natIds = publicSubnets
        .slice(0, args.nat === 'perAz' ? args.azCount : args.nat === 'single' ? 1 : 0)
        .map((subnet, az) => {
          const eip = new aws.ec2.Eip(`${name}-nat-${az}`, { domain: 'vpc' }, o);
          return new aws.ec2.NatGateway(
            `${name}-nat-${az}`,
            { allocationId: eip.id, subnetId: subnet.id },
            { parent: this, dependsOn: [igw] },
          ).id;
        });
      // perAz: a route table per AZ to its own NAT; single: one table to the one NAT;
      // none: one table with local routes only (brokers need nothing else).
      const privateRts = (args.nat === 'perAz' ? natIds : [natIds[0]]).map(
        (natId, i) =>
          new aws.ec2.RouteTable(
            `${name}-private-${i}`,
            { vpcId: vpc.id, routes: natId ? [{ cidrBlock: '0.0.0.0/0', natGatewayId: natId }] : [] },
            o,
          ),
      );
      const privateSubnets = plan.private.map((cidrBlock, az) => {
        const subnet = new aws.ec2.Subnet(
          `${name}-private-${az}`,
          {
            vpcId: vpc.id,
            cidrBlock,
            availabilityZone: azs.names[az]!,
            tags: { Name: `${name}-private-${az}` },
          },
          o,
        );
        const rt = privateRts[args.nat === 'perAz' ? az : 0]!;
        new aws.ec2.RouteTableAssociation(
          `${name}-private-${az}`,
          { subnetId: subnet.id, routeTableId: rt.id },
          o,
        );
        return subnet;
      });

      // Image layers come from S3 (ECR keeps them there): through a gateway endpoint they skip
      // the NAT gateway's per-GB charge, and the endpoint itself is free. It serves every route
      // table of tasks and brokers.
      const taskTables = args.nat === 'none' ? [publicRt] : privateRts;
      new aws.ec2.VpcEndpoint(
        `${name}-s3`,
        {
          vpcId: vpc.id,
          serviceName: `com.amazonaws.${args.region}.s3`,
          vpcEndpointType: 'Gateway',
          routeTableIds: [...new Set([...taskTables, ...privateRts])].map((rt) => rt.id),
          tags: { Name: `${name}-s3` },
        },
        o,
      );

      this.vpcId = vpc.id;
      this.cidr = vpc.cidrBlock;
      this.publicSubnetIds = publicSubnets.map((s) => s.id);
      this.privateSubnetIds = privateSubnets.map((s) => s.id);
      this.assignPublicIp = args.nat === 'none';
      this.taskSubnetIds = this.assignPublicIp ? this.publicSubnetIds : this.privateSubnetIds;
      this.routeTableIds = [...(this.assignPublicIp ? [publicRt.id] : []), ...privateRts.map((rt) => rt.id)];
    }

    const sg = (suffix: string, description: string) =>
      new aws.ec2.SecurityGroup(
        `${name}-${suffix}`,
        { vpcId: this.vpcId, description, tags: { Name: `${name}-${suffix}` } },
        o,
      );
    const lb = args.edge;
    this.lbSecurityGroup =
      lb === 'alb'
        ? sg('alb', 'wsgw ALB: HTTP/HTTPS from anywhere')
        : sg('nlb', 'wsgw NLB: HTTP/HTTPS from anywhere');
    this.taskSecurityGroup = sg('tasks', `wsgw gateway tasks: only from the ${lb.toUpperCase()}`);

    const ingress = (rule: string, a: aws.vpc.SecurityGroupIngressRuleArgs) =>
      new aws.vpc.SecurityGroupIngressRule(`${name}-${rule}`, a, o);
    const egress = (rule: string, a: aws.vpc.SecurityGroupEgressRuleArgs) =>
      new aws.vpc.SecurityGroupEgressRule(`${name}-${rule}`, a, o);
    const tcp = (from: number, to = from) => ({ ipProtocol: 'tcp', fromPort: from, toPort: to });

    for (const port of Object.values(PUBLIC_PORTS)) {
      ingress(`${lb}-in-${port}`, {
        securityGroupId: this.lbSecurityGroup.id,
        cidrIpv4: '0.0.0.0/0',
        ...tcp(port),
        description: 'clients (HTTP redirects to HTTPS)',
      });
    }
    // Behind an NLB the task redirects http:// itself, on a port of its own. Referencing the NLB's
    // group admits its traffic even with client IP preservation on (Elastic Load Balancing, Network
    // Load Balancers, Security groups).
    const taskPorts =
      lb === 'alb'
        ? ([['tasks', DEFAULT_PORT]] as const)
        : ([
            ['tasks', DEFAULT_PORT],
            ['redirect', REDIRECT_PORT],
          ] as const);
    for (const [what, port] of taskPorts) {
      egress(`${lb}-out-${what}`, {
        securityGroupId: this.lbSecurityGroup.id,
        referencedSecurityGroupId: this.taskSecurityGroup.id,
        ...tcp(port),
      });
      ingress(`${what === 'tasks' ? 'tasks' : 'tasks-redirect'}-in-${lb}`, {
        securityGroupId: this.taskSecurityGroup.id,
        referencedSecurityGroupId: this.lbSecurityGroup.id,
        ...tcp(port),
      });
    }
    // HTTPS out for ECR, Secrets Manager, CloudWatch, STS and a JWKS endpoint.
    egress('tasks-out-https', {
      securityGroupId: this.taskSecurityGroup.id,
      cidrIpv4: '0.0.0.0/0',
      ...tcp(443),
    });
    if (args.bus === 'redis') {
      // The cache admits the region's tasks only (and, over peering, the other regions' tasks:
      // DirectConnectivity); nothing else in the VPC reaches it.
      const ports = args.redisPorts;
      if (!ports) throw new Error(`${name}: bus redis needs the cache's ports`);
      const redis = sg('redis', 'wsgw ElastiCache: only from gateway tasks');
      this.redisSecurityGroup = redis;
      egress('tasks-out-redis', {
        securityGroupId: this.taskSecurityGroup.id,
        referencedSecurityGroupId: redis.id,
        ...tcp(ports.from, ports.to),
      });
      ingress('redis-in-tasks', {
        securityGroupId: redis.id,
        referencedSecurityGroupId: this.taskSecurityGroup.id,
        ...tcp(ports.from, ports.to),
      });
    } else {
      this.mskSecurityGroup = sg('msk', 'wsgw MSK: only from gateway tasks and the replicator');
      egress('tasks-out-msk', {
        securityGroupId: this.taskSecurityGroup.id,
        referencedSecurityGroupId: this.mskSecurityGroup.id,
        ...tcp(MSK_IAM_PORT),
      });
      ingress('msk-in-tasks', {
        securityGroupId: this.mskSecurityGroup.id,
        referencedSecurityGroupId: this.taskSecurityGroup.id,
        ...tcp(MSK_IAM_PORT),
      });
    }

    if (args.replicator && this.mskSecurityGroup) {
      // The replicators into this region run ENIs in its subnets with this group and reach the
      // local brokers on 9098; a source cluster in another region is reached over its multi-VPC
      // connectivity, which needs no rule here.
      const rep = sg('replicator', 'wsgw MSK Replicator ENIs');
      this.replicatorSecurityGroup = rep;
      const msk = this.mskSecurityGroup;
      ingress('msk-in-replicator', {
        securityGroupId: msk.id,
        referencedSecurityGroupId: rep.id,
        ...tcp(MSK_IAM_PORT),
      });
      egress('replicator-out-msk', {
        securityGroupId: rep.id,
        referencedSecurityGroupId: msk.id,
        ...tcp(MSK_IAM_PORT),
      });
    }

    this.registerOutputs({
      vpcId: this.vpcId,
      publicSubnetIds: this.publicSubnetIds,
      privateSubnetIds: this.privateSubnetIds,
    });
  }
}
