import * as aws from '@pulumi/aws';
import * as cloudflare from '@pulumi/cloudflare';
import * as pulumi from '@pulumi/pulumi';
import { PUBLIC_PORTS } from '../plan.js';

export interface GlobalEdgeArgs {
  readonly name: string;
  readonly domain: string;
  readonly zoneId: string;
  /** Each region's load balancer ARN (ALB or NLB), in config order. */
  readonly endpoints: readonly { readonly region: string; readonly loadBalancerArn: pulumi.Input<string> }[];
}

/**
 * The global front door: a Global Accelerator (two anycast IPs; TCP 443 and 80 passed through to
 * the nearest healthy region's load balancer: an ALB, which terminates TLS and redirects 80 to 443,
 * or an NLB passing both to the tasks) and the Cloudflare record that points the public hostname at it.
 *
 * - Client affinity SOURCE_IP keeps a client's reconnects in the same region, where its recent
 *   channel history is warm.
 * - Client IP preservation hands the real client address to the load balancer: the ALB passes it
 *   on in X-Forwarded-For, an NLB (which has a security group, as preservation requires) as the
 *   source address of the connection.
 * - Health: Global Accelerator uses the load balancer's own target health (`/readyz`); a region
 *   with no healthy target is skipped.
 */
export class GlobalEdge extends pulumi.ComponentResource {
  readonly accelerator: aws.globalaccelerator.Accelerator;
  readonly listener: aws.globalaccelerator.Listener;
  readonly endpointGroups: Readonly<Record<string, aws.globalaccelerator.EndpointGroup>>;
  readonly record: cloudflare.DnsRecord;
  readonly ips: pulumi.Output<string[]>;

  constructor(name: string, args: GlobalEdgeArgs, opts: pulumi.ComponentResourceOptions) {
    super('wsgw:global:Edge', name, {}, opts);
    const o = { parent: this };

    this.accelerator = new aws.globalaccelerator.Accelerator(
      `${name}-accelerator`,
      { name: args.name, ipAddressType: 'IPV4', enabled: true },
      o,
    );
    this.listener = new aws.globalaccelerator.Listener(
      `${name}-listener`,
      {
        acceleratorArn: this.accelerator.arn,
        protocol: 'TCP',
        clientAffinity: 'SOURCE_IP',
        // The ALBs' ports, passed through unchanged: 443, and 80 for the ALBs' redirect to HTTPS.
        portRanges: Object.values(PUBLIC_PORTS).map((port) => ({ fromPort: port, toPort: port })),
      },
      o,
    );
    const groups: Record<string, aws.globalaccelerator.EndpointGroup> = {};
    for (const e of args.endpoints) {
      groups[e.region] = new aws.globalaccelerator.EndpointGroup(
        `${name}-${e.region}`,
        {
          listenerArn: this.listener.arn,
          // Always explicit: it defaults to the provider's region, and an ALB of another region
          // is then rejected as "not a valid load balancer ARN".
          endpointGroupRegion: e.region,
          trafficDialPercentage: 100,
          endpointConfigurations: [
            { endpointId: e.loadBalancerArn, weight: 128, clientIpPreservationEnabled: true },
          ],
        },
        o,
      );
    }
    this.endpointGroups = Object.freeze(groups);

    this.record = new cloudflare.DnsRecord(
      `${name}-record`,
      {
        zoneId: args.zoneId,
        name: args.domain,
        type: 'CNAME',
        content: this.accelerator.dnsName,
        ttl: 300,
        // Not proxied: Cloudflare's proxy would hide the anycast IPs and the client address, and
        // impose its own WebSocket limits in front of ours.
        proxied: false,
        comment: 'wsgw Global Accelerator',
      },
      { parent: this },
    );
    this.ips = this.accelerator.ipSets.apply((sets) => sets.flatMap((s) => s.ipAddresses ?? []));
    this.registerOutputs({ dnsName: this.accelerator.dnsName, ips: this.ips });
  }
}
