import * as aws from '@pulumi/aws';
import * as cloudflare from '@pulumi/cloudflare';
import * as pulumi from '@pulumi/pulumi';

export interface CertificatesArgs {
  readonly domain: string;
  readonly zoneId: string;
  /** Every region with its provider. */
  readonly regions: readonly { readonly name: string; readonly provider: aws.Provider }[];
  /** The region whose certificate's validation options name the shared record (all name the same). */
  readonly homeRegion: string;
  /**
   * Certificates the gateway tasks export and serve themselves (wsgw:edge nlb): ACM issues them with
   * export enabled, ECDSA P-256 (a TLS handshake costs the task less CPU than with RSA 2048,
   * docs/benchmarks.md, Capacity), and renews them like any DNS-validated certificate, since they
   * are exported between renewals (ACM User Guide, Managed certificate renewal). Each issuance and
   * renewal is billed.
   */
  readonly exportable?: boolean;
}

/**
 * ACM certificates for the public hostname, one per region (an ALB takes only a certificate of
 * its own region, and a task exports its own region's), validated through Cloudflare DNS.
 *
 * ACM derives the validation CNAME from the account and the domain name, so all regions ask for
 * the same record. It is created once per name — a second identical record would conflict — and
 * every region's validation waits on it.
 */
export class Certificates extends pulumi.ComponentResource {
  /** Validated certificate ARN per region. */
  readonly arns: Readonly<Record<string, pulumi.Output<string>>>;
  readonly validationRecords: cloudflare.DnsRecord[];

  constructor(name: string, args: CertificatesArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super('wsgw:dns:Certificates', name, {}, opts);
    const certs = new Map(
      args.regions.map((r) => [
        r.name,
        new aws.acm.Certificate(
          `${name}-${r.name}`,
          {
            domainName: args.domain,
            validationMethod: 'DNS',
            ...(args.exportable ? { keyAlgorithm: 'EC_prime256v1', options: { export: 'ENABLED' } } : {}),
          },
          { parent: this, provider: r.provider },
        ),
      ]),
    );
    // Read from the home region's certificate, never from a list position, so that retiring any
    // other region leaves the record untouched.
    const source = certs.get(args.homeRegion);
    if (!source) throw new Error(`${name}: the home region ${args.homeRegion} is not one of the regions`);
    // The names to validate are known now (the domain; add SANs here), so the record count is
    // fixed at preview time even though their contents are outputs.
    const names = [args.domain];
    const records = names.map((domainName, i) => {
      const dvo = source.domainValidationOptions.apply((opts) => {
        const match = opts.find((d) => d.domainName === domainName);
        if (!match) throw new Error(`ACM returned no validation option for ${domainName}`);
        return match;
      });
      return {
        fqdn: dvo.resourceRecordName,
        record: new cloudflare.DnsRecord(
          `${name}-validation-${i}`,
          {
            zoneId: args.zoneId,
            name: dvo.resourceRecordName.apply((n) => n.replace(/\.$/, '')),
            type: dvo.resourceRecordType,
            content: dvo.resourceRecordValue.apply((v) => v.replace(/\.$/, '')),
            ttl: 60,
            // ACM must see the CNAME itself, not Cloudflare's proxy.
            proxied: false,
            comment: `ACM validation for ${domainName} (all wsgw regions)`,
          },
          { parent: this },
        ),
      };
    });
    this.validationRecords = records.map((r) => r.record);

    const arns: Record<string, pulumi.Output<string>> = {};
    args.regions.forEach((r) => {
      const validation = new aws.acm.CertificateValidation(
        `${name}-${r.name}`,
        {
          certificateArn: certs.get(r.name)!.arn,
          validationRecordFqdns: records.map((x) => x.fqdn.apply((f) => f.replace(/\.$/, ''))),
        },
        { parent: this, provider: r.provider, dependsOn: this.validationRecords },
      );
      arns[r.name] = validation.certificateArn;
    });
    this.arns = Object.freeze(arns);
    this.registerOutputs({});
  }
}
