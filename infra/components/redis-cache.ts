import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { RedisConfig } from '../stack-config.js';
import { REDIS_GATEWAY_USER, planRedis, redisIds, redisUrl, type RedisPlan } from '../plan.js';

export interface RedisCacheArgs {
  readonly region: string;
  readonly stack: string;
  readonly redis: RedisConfig;
  /** The region's private subnets, one per AZ. */
  readonly subnetIds: pulumi.Input<string>[];
  /** The cache's group, which admits only the gateway tasks (and peered regions' tasks). */
  readonly securityGroupId: pulumi.Input<string>;
  /** The AUTH token (node-based) or the gateway user's password (serverless), a secret. */
  readonly authToken: pulumi.Input<string>;
}

/**
 * Lets the gateway user run what a stream bus needs (XADD, XREAD, XRANGE, XTRIM, WAIT, INFO for
 * readiness) on every key, and nothing of the dangerous category (CONFIG, FLUSHALL, DEBUG, …) but
 * INFO. `on` enables the user; without it a user has no access at all.
 */
export const GATEWAY_ACCESS_STRING = 'on ~* &* +@all -@dangerous +info';

/**
 * One region's Redis bus: ElastiCache for Valkey in the private subnets, TLS required in transit,
 * encrypted at rest under its own KMS key, authenticated, behind a security group that admits only
 * the gateway tasks. Either a node-based replication group (a primary and `replicas` replicas in
 * other AZs, AUTH token, automatic failover and Multi-AZ with a replica) or a serverless cache
 * (RBAC: a user group with the gateway user and a disabled `default` user).
 */
export class RedisCache extends pulumi.ComponentResource {
  readonly plan: RedisPlan;
  /** `rediss://[user@]host:port` of the cache's primary endpoint, without a password (WSGW_REDIS_URL). */
  readonly url: pulumi.Output<string>;
  /** The replication group's id or the serverless cache's name: the CloudWatch dimension's value. */
  readonly cacheId: string;

  constructor(name: string, args: RedisCacheArgs, opts: pulumi.ComponentResourceOptions) {
    super('wsgw:aws:RedisCache', name, {}, opts);
    const o = { parent: this };
    const plan = planRedis(args.redis);
    const ids = redisIds(args.stack, args.region);
    this.plan = plan;
    this.cacheId = ids.cache;

    const key = new aws.kms.Key(
      `${name}-cache-at-rest`,
      {
        description: `${ids.cache} ElastiCache encryption at rest`,
        enableKeyRotation: true,
        deletionWindowInDays: 30,
      },
      o,
    );

    if (args.redis.mode === 'nodes') {
      const subnets = new aws.elasticache.SubnetGroup(
        `${name}-cache-subnets`,
        { name: ids.cache, description: 'wsgw cache: private subnets', subnetIds: args.subnetIds },
        o,
      );
      const group = new aws.elasticache.ReplicationGroup(
        `${name}-cache`,
        {
          replicationGroupId: ids.cache,
          description: `wsgw bus ${args.region}`,
          engine: 'valkey',
          engineVersion: args.redis.engineVersion,
          nodeType: args.redis.nodeType,
          // Cluster mode off: one shard, so every stream lives on one primary and WAIT counts its replicas.
          numCacheClusters: plan.nodes,
          automaticFailoverEnabled: plan.automaticFailover,
          multiAzEnabled: plan.multiAz,
          port: plan.ports.from,
          subnetGroupName: subnets.name,
          securityGroupIds: [args.securityGroupId],
          // AUTH tokens are accepted only with TLS in transit; `required` refuses plain connections.
          transitEncryptionEnabled: true,
          transitEncryptionMode: 'required',
          authToken: pulumi.secret(args.authToken),
          atRestEncryptionEnabled: true,
          kmsKeyId: key.arn,
          autoMinorVersionUpgrade: true,
          // A day of snapshots: the streams are a short history, replayable from nowhere else.
          snapshotRetentionLimit: 1,
          applyImmediately: true,
        },
        o,
      );
      this.url = pulumi.interpolate`${group.primaryEndpointAddress}`.apply((host) =>
        redisUrl(host, plan.ports.from),
      );
    } else {
      // Serverless caches take no AUTH token: access is RBAC only. Every user group needs a user
      // named `default`; it is kept switched off, so only the gateway user gets in.
      const user = (id: string, userName: string, accessString: string) =>
        new aws.elasticache.User(
          `${name}-cache-${userName}`,
          {
            userId: id,
            userName,
            engine: 'valkey',
            accessString,
            authenticationMode: { type: 'password', passwords: [pulumi.secret(args.authToken)] },
          },
          o,
        );
      const defaultUser = user(ids.defaultUser, 'default', 'off -@all');
      const gateway = user(ids.user, REDIS_GATEWAY_USER, GATEWAY_ACCESS_STRING);
      const users = new aws.elasticache.UserGroup(
        `${name}-cache-users`,
        { userGroupId: ids.userGroup, engine: 'valkey', userIds: [defaultUser.userId, gateway.userId] },
        o,
      );
      const cache = new aws.elasticache.ServerlessCache(
        `${name}-cache`,
        {
          name: ids.cache,
          description: `wsgw bus ${args.region}`,
          engine: 'valkey',
          majorEngineVersion: args.redis.engineVersion.split('.')[0]!,
          cacheUsageLimits: {
            dataStorage: { maximum: args.redis.maxDataGB, unit: 'GB' },
            ecpuPerSeconds: [{ maximum: args.redis.maxEcpuPerSecond }],
          },
          // Serverless caches always encrypt in transit and at rest; the key is the stack's own.
          kmsKeyId: key.arn,
          subnetIds: args.subnetIds,
          securityGroupIds: [args.securityGroupId],
          userGroupId: users.userGroupId,
          snapshotRetentionLimit: 1,
        },
        o,
      );
      this.url = cache.endpoints.apply((e) => redisUrl(e[0]!.address, e[0]!.port, REDIS_GATEWAY_USER));
    }
    this.registerOutputs({ url: this.url });
  }
}
