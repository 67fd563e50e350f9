/**
 * Building the kafkajs configuration, MSK IAM included, without AWS: the token signer is a
 * recording stand-in that returns tokens with chosen expiry times.
 */
import { describe, expect, it } from 'vitest';
import {
  buildKafkaConfig,
  mskIamTokenProvider,
  type MskAuthToken,
} from '../../services/gateway/src/bus/kafka-config.js';

function signer(lifetimeMs: number, clock: { now: number }) {
  const calls: string[] = [];
  let n = 0;
  const sign = async (region: string): Promise<MskAuthToken> => {
    calls.push(region);
    await new Promise((r) => setTimeout(r, 5));
    return { token: `token-${++n}`, expiryTime: clock.now + lifetimeMs };
  };
  return { sign, calls };
}

describe('buildKafkaConfig', () => {
  it('connects in plain text without authentication by default', () => {
    const c = buildKafkaConfig({ brokers: ['127.0.0.1:9092'], clientId: 'wsgw-r1-n1' });
    expect(c).toMatchObject({ brokers: ['127.0.0.1:9092'], clientId: 'wsgw-r1-n1' });
    expect(c.ssl).toBeUndefined();
    expect(c.sasl).toBeUndefined();
  });

  it('turns TLS on when asked', () => {
    expect(buildKafkaConfig({ brokers: ['b-1.example:9094'], clientId: 'x', tls: true }).ssl).toBe(true);
  });

  it('uses TLS and SASL/OAUTHBEARER with a signed token for msk-iam', async () => {
    const clock = { now: 1_000_000 };
    const s = signer(900_000, clock);
    const c = buildKafkaConfig(
      {
        brokers: ['b-1.msk.example:9098', 'b-2.msk.example:9098'],
        clientId: 'x',
        auth: 'msk-iam',
        awsRegion: 'eu-west-1',
      },
      { signer: s.sign, now: () => clock.now },
    );
    expect(c.ssl).toBe(true);
    expect(c.sasl?.mechanism).toBe('oauthbearer');
    const provider = (c.sasl as { oauthBearerProvider: () => Promise<{ value: string }> })
      .oauthBearerProvider;
    expect(await provider()).toEqual({ value: 'token-1' });
    expect(s.calls).toEqual(['eu-west-1']);
  });

  it('names the option that is wrong', () => {
    expect(() => buildKafkaConfig({ brokers: [], clientId: 'x' })).toThrow(/^brokers:/);
    expect(() => buildKafkaConfig({ brokers: ['no-port'], clientId: 'x' })).toThrow(/^brokers: "no-port"/);
    expect(() => buildKafkaConfig({ brokers: ['h:1'], clientId: 'x', auth: 'scram' as never })).toThrow(
      /^auth:/,
    );
    expect(() => buildKafkaConfig({ brokers: ['h:1'], clientId: 'x', auth: 'msk-iam' })).toThrow(
      /^awsRegion:/,
    );
    expect(() =>
      buildKafkaConfig({
        brokers: ['h:1'],
        clientId: 'x',
        auth: 'msk-iam',
        awsRegion: 'us-east-1',
        tokenRefreshMarginMs: -1,
      }),
    ).toThrow(RangeError);
  });
});

describe('mskIamTokenProvider', () => {
  it('reuses a token until it nears expiry, then signs a new one before it expires', async () => {
    const clock = { now: 0 };
    const s = signer(900_000, clock);
    const provide = mskIamTokenProvider('us-east-1', s.sign, 120_000, () => clock.now);
    expect(await provide()).toEqual({ value: 'token-1' });
    clock.now = 700_000; // 200 s left: still good
    expect(await provide()).toEqual({ value: 'token-1' });
    clock.now = 781_000; // 119 s left: inside the margin, refreshed although not yet expired
    expect(await provide()).toEqual({ value: 'token-2' });
    expect(s.calls).toHaveLength(2);
  });

  it('shares one signing call between concurrent connections', async () => {
    const clock = { now: 0 };
    const s = signer(900_000, clock);
    const provide = mskIamTokenProvider('us-east-1', s.sign, 60_000, () => clock.now);
    const tokens = await Promise.all([provide(), provide(), provide()]);
    expect(tokens.map((t) => t.value)).toEqual(['token-1', 'token-1', 'token-1']);
    expect(s.calls).toHaveLength(1);
  });

  it('fails the authentication, not the process, when signing fails, and tries again next time', async () => {
    let fail = true;
    const provide = mskIamTokenProvider(
      'us-east-1',
      async () => {
        if (fail) throw new Error('no credentials');
        return { token: 't', expiryTime: Date.now() + 900_000 };
      },
      60_000,
    );
    await expect(provide()).rejects.toThrow('no credentials');
    fail = false;
    expect(await provide()).toEqual({ value: 't' });
  });
});
