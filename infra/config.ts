/**
 * The Pulumi program's config reader: every `wsgw:` value of the running stack through the pure
 * parser (`stack-config.ts`), and the secrets as secret outputs, which never enter the parsed
 * object. Only the program imports this module; tools that run without Pulumi use the parser.
 */
import * as pulumi from '@pulumi/pulumi';
import {
  CONFIG_NAMESPACE,
  type StackConfig,
  StackConfigError,
  parseStackConfig,
  redisAuthTokenIssues,
} from './stack-config.js';

/** What the Pulumi program reads: the parsed config plus the secrets, kept as secret outputs. */
export interface PulumiStackConfig {
  readonly config: StackConfig;
  /** HS256 secret for client JWTs; undefined with `wsgw:jwksUrl`. */
  readonly jwtSecret?: pulumi.Output<string>;
  /** Bearer key for `POST /publish`; publishing over HTTP is off without it. */
  readonly publishKey?: pulumi.Output<string>;
  /** With bus `redis`: the AUTH token (node-based) or the gateway user's password (serverless). */
  readonly redisAuthToken?: pulumi.Output<string>;
}

/**
 * The thin Pulumi reader: every `wsgw:` value of the running stack through `parseStackConfig`,
 * secrets through `Config.getSecret` so they stay encrypted in state and never reach the
 * frozen object. Call once, at the top of the program.
 */
export function readPulumiConfig(): PulumiStackConfig {
  const raw = pulumi.runtime.allConfig();
  const config = parseStackConfig(raw);
  const cfg = new pulumi.Config(CONFIG_NAMESPACE);
  const jwtSecret = cfg.getSecret('jwtSecret');
  const publishKey = cfg.getSecret('publishKey');
  if (config.auth.mode === 'jwt-secret' && jwtSecret === undefined) {
    // The gateway refuses to start in production without auth; fail at preview
    // instead of after a 20-minute MSK create with tasks crash-looping.
    throw new StackConfigError([
      `${CONFIG_NAMESPACE}:jwtSecret: is required unless ${CONFIG_NAMESPACE}:jwksUrl is set (pulumi config set --secret ${CONFIG_NAMESPACE}:jwtSecret <value>)`,
    ]);
  }
  let redisAuthToken: pulumi.Output<string> | undefined;
  if (config.bus === 'redis') {
    const key = `${CONFIG_NAMESPACE}:redisAuthToken`;
    const plain = raw[key];
    if (plain === undefined)
      throw new StackConfigError([
        `${key}: is required with ${CONFIG_NAMESPACE}:bus redis (pulumi config set --secret ${key} "$(openssl rand -hex 32)")`,
      ]);
    // Checked on the decrypted value here, so that a token ElastiCache refuses fails the preview;
    // the messages never contain it.
    const issues = redisAuthTokenIssues(plain);
    if (issues.length > 0) throw new StackConfigError(issues);
    redisAuthToken = cfg.requireSecret('redisAuthToken');
  }
  return {
    config,
    ...(redisAuthToken ? { redisAuthToken } : {}),
    ...(config.auth.mode === 'jwt-secret' && jwtSecret ? { jwtSecret } : {}),
    ...(publishKey ? { publishKey } : {}),
  };
}
