/**
 * TLS in the task, for deployments whose load balancer passes TCP through (an NLB): the gateway
 * serves its public port over TLS with an ACM certificate it exports itself.
 *
 * Why export: an ACM *exportable* certificate is issued and renewed by ACM like any other, but its
 * private key can be fetched (`acm:ExportCertificate`, encrypted with a passphrase of the caller's
 * choosing). The task exports it at start and again every `WSGW_TLS_REFRESH_MS`: a renewed
 * certificate reaches running tasks without a restart, and ACM renews an exportable certificate
 * only if it has been exported since it was last issued. A refresh that fails keeps the
 * certificate being served, logs, and counts `wsgw_tls_refresh_failures_total`.
 */
import { randomBytes, createPrivateKey, X509Certificate } from 'node:crypto';
import type { SecureContextOptions } from 'node:tls';
import { ACMClient, ExportCertificateCommand } from '@aws-sdk/client-acm';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from './logger.js';
import { METRICS_PREFIX } from '../../shared/src/constants.js';

/** A certificate with its chain and the unencrypted private key, PEM. */
export interface CertificateMaterial {
  readonly certificate: string;
  readonly chain: string;
  readonly key: string;
}

/** Where certificates come from. */
export type CertificateSource = () => Promise<CertificateMaterial>;

/**
 * Exports an ACM certificate. The passphrase is random per call; ACM encrypts the private key with
 * it and the key is decrypted here, in memory only. The SDK finds the task role's credentials and
 * honours `AWS_ENDPOINT_URL_ACM`.
 */
export function acmCertificate(arn: string, region: string): CertificateSource {
  const client = new ACMClient({ region });
  return async () => {
    // ACM refuses #, $ and % in passphrases; base64url has none of them.
    const passphrase = randomBytes(24).toString('base64url');
    const out = await client.send(
      new ExportCertificateCommand({ CertificateArn: arn, Passphrase: new TextEncoder().encode(passphrase) }),
    );
    if (!out.Certificate || !out.PrivateKey)
      throw new Error('ExportCertificate returned no certificate or key');
    const key = createPrivateKey({ key: out.PrivateKey, format: 'pem', passphrase })
      .export({ type: 'pkcs8', format: 'pem' })
      .toString();
    return { certificate: out.Certificate, chain: out.CertificateChain ?? '', key };
  };
}

/** Keeps a server's certificate fresh. */
export class CertificateKeeper {
  private timer: NodeJS.Timeout | undefined;
  private current: string | undefined;
  private readonly expiry: Gauge;
  private readonly failures: Counter;

  constructor(
    private readonly source: CertificateSource,
    private readonly apply: (ctx: SecureContextOptions) => void,
    private readonly refreshMs: number,
    private readonly log: Logger,
    registry: Registry,
  ) {
    this.expiry = new Gauge({
      name: `${METRICS_PREFIX}tls_certificate_expiry_seconds`,
      help: 'When the certificate served ends (seconds since the epoch).',
      registers: [registry],
    });
    this.failures = new Counter({
      name: `${METRICS_PREFIX}tls_refresh_failures_total`,
      help: 'Certificate refreshes that failed (the one being served stays).',
      registers: [registry],
    });
  }

  /** Whether a certificate is being served. */
  get loaded(): boolean {
    return this.current !== undefined;
  }

  /**
   * Loads the first certificate, trying again with backoff until it succeeds or `stopped()` says
   * to give up; then refreshes every `refreshMs`.
   */
  async start(stopped: () => boolean): Promise<void> {
    for (let attempt = 0; !stopped(); attempt++) {
      if (await this.refresh()) break;
      await new Promise((r) => setTimeout(r, Math.min(30_000, 500 * 2 ** attempt)));
    }
    if (stopped()) return;
    // refresh() reports its own failures; the catch only keeps lint's promise rules satisfied.
    this.timer = setInterval(() => {
      this.refresh().catch(() => undefined);
    }, this.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Fetches the certificate and serves it if it changed. Never throws. */
  private async refresh(): Promise<boolean> {
    try {
      const m = await this.source();
      const pem = `${m.certificate.trim()}\n${m.chain.trim()}\n`;
      const notAfter = Date.parse(new X509Certificate(m.certificate).validTo);
      if (pem !== this.current) {
        this.apply({ cert: pem, key: m.key, minVersion: 'TLSv1.2' });
        this.log.info(
          { notAfter: new Date(notAfter).toISOString(), first: this.current === undefined },
          'TLS certificate loaded',
        );
        this.current = pem;
      }
      this.expiry.set(notAfter / 1000);
      return true;
    } catch (err) {
      this.failures.inc();
      this.log.error({ err, serving: this.current !== undefined }, 'TLS certificate refresh failed');
      return false;
    }
  }
}
