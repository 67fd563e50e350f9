/**
 * The Pulumi program's config reader: every `wsgw:` value of the running stack through the pure
 * parser (`stack-config.ts`), and the secrets as secret outputs, which never enter the parsed
 * object. Only the program imports this module; tools that run without Pulumi use the parser.
 */
import * as pulumi from '@pulumi/pulumi';
import { CONFIG_NAMESPACE, type StackConfig, StackConfigError, parseStackConfig } from './stack-config.js';

/** What the Pulumi program reads: the parsed config plus the secrets, kept as secret outputs. */
export interface PulumiStackConfig {
  readonly config: StackConfig;
  /** HS256 secret for client JWTs; undefined with `wsgw:jwksUrl`. */
  readonly jwtSecret?: pulumi.Output<string>;
  /** Bearer key for `POST /publish`; publishing over HTTP is off without it. */
  readonly publishKey?: pulumi.Output<string>;
}

/**
 * The thin Pulumi reader: every `wsgw:` value of the running stack through `parseStackConfig`,
 * secrets through `Config.getSecret` so they stay encrypted in state and never reach the
 * frozen object. Call once, at the top of the program.
 */
export function readPulumiConfig(): PulumiStackConfig {
  const config = parseStackConfig(pulumi.runtime.allConfig());
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
  return {
    config,
    ...(config.auth.mode === 'jwt-secret' && jwtSecret ? { jwtSecret } : {}),
    ...(publishKey ? { publishKey } : {}),
  };
}
