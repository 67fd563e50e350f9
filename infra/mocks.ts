/**
 * Offline stand-ins for the AWS, Cloudflare and docker-build providers, shared by
 * `npm run synth` and the test suite: `pulumi.runtime.setMocks` with outputs shaped like the real
 * ones (ARNs, DNS names, bootstrap brokers), and a record of every resource the program declared.
 */
import * as pulumi from '@pulumi/pulumi';

export const MOCK_ACCOUNT = '123456789012';

/** One resource as the program declared it. */
export interface DeclaredResource {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, any>;
  /** The region of its explicit AWS provider; undefined for global and non-AWS resources. */
  readonly region?: string;
  /** The id and outputs the mocks answered with (what AWS would return), to follow references. */
  readonly id: string;
  readonly state: Record<string, any>;
  /** Earlier identities the resource answers to (the `aliases` option), as the engine receives them. */
  readonly aliases: readonly DeclaredAlias[];
}

/** One alias: a full URN, or the parts that differ from the resource's own name, type and parent. */
export interface DeclaredAlias {
  readonly urn?: string;
  readonly name?: string;
  readonly type?: string;
  readonly parentUrn?: string;
  readonly noParent?: boolean;
}

export interface ProgramRun<T> {
  readonly resources: readonly DeclaredResource[];
  readonly outputs: T;
}

/** `urn:…::pulumi:providers:aws::aws-eu-west-1::<id>` -> `eu-west-1`. */
export function providerRegion(provider: string | undefined): string | undefined {
  return provider ? /::pulumi:providers:aws::aws-([a-z0-9-]+)::/.exec(provider)?.[1] : undefined;
}

/** AWS's zone id prefix of a region: `eu-west-1` → `euw1`, `ap-southeast-2` → `apse2`. */
function zoneIdPrefix(region: string): string {
  const [area, dir, n] = region.split('-') as [string, string, string];
  const short = dir
    .replace('north', 'n')
    .replace('south', 's')
    .replace('east', 'e')
    .replace('west', 'w')
    .replace('central', 'c');
  return `${area}${short}${n}`;
}

function hex(seed: string, length: number): string {
  let h = 2166136261;
  let out = '';
  while (out.length < length) {
    for (const c of seed + out.length) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
    out += h.toString(16).padStart(8, '0');
  }
  return out.slice(0, length);
}

/** Provider outputs the program reads, computed from the inputs as AWS would. */
function mockState(
  type: string,
  name: string,
  inputs: Record<string, any>,
  region: string,
): Record<string, any> {
  const acct = MOCK_ACCOUNT;
  const id = hex(name, 16);
  const state: Record<string, any> = {
    ...inputs,
    name: inputs.name ?? `${name}-${id.slice(0, 7)}`,
    arn: `arn:aws:${type.split(':')[1]?.split('/')[0]}:${region}:${acct}:${name}`,
  };
  switch (type) {
    case 'aws:lb/loadBalancer:LoadBalancer':
      // As AWS names them: app/… for an ALB, net/… for an NLB.
      state.arnSuffix = `${inputs.loadBalancerType === 'network' ? 'net' : 'app'}/${state.name}/${id}`;
      state.arn = `arn:aws:elasticloadbalancing:${region}:${acct}:loadbalancer/${state.arnSuffix}`;
      state.dnsName = `${state.name}-${parseInt(id.slice(0, 8), 16)}.${region}.elb.amazonaws.com`;
      break;
    case 'aws:lb/targetGroup:TargetGroup':
      state.arnSuffix = `targetgroup/${state.name}/${id}`;
      state.arn = `arn:aws:elasticloadbalancing:${region}:${acct}:${state.arnSuffix}`;
      break;
    case 'aws:acm/certificate:Certificate':
      state.arn = `arn:aws:acm:${region}:${acct}:certificate/${hex(name, 32)}`;
      // The same CNAME in every region: ACM derives it from the account and the name.
      state.domainValidationOptions = [
        {
          domainName: inputs.domainName,
          resourceRecordName: `_${hex(inputs.domainName, 32)}.${inputs.domainName}.`,
          resourceRecordType: 'CNAME',
          resourceRecordValue: `_${hex(`${inputs.domainName}v`, 32)}.acm-validations.aws.`,
        },
      ];
      break;
    case 'aws:acm/certificateValidation:CertificateValidation':
      state.certificateArn = inputs.certificateArn;
      break;
    case 'aws:globalaccelerator/accelerator:Accelerator':
      state.dnsName = `a${id}.awsglobalaccelerator.com`;
      state.ipSets = [{ ipFamily: 'IPv4', ipAddresses: ['75.2.10.1', '99.83.20.2'] }];
      state.arn = `arn:aws:globalaccelerator::${acct}:accelerator/${hex(name, 32)}`;
      break;
    case 'aws:ecr/repository:Repository':
      state.registryId = acct;
      state.repositoryUrl = `${acct}.dkr.ecr.${region}.amazonaws.com/${inputs.name}`;
      state.arn = `arn:aws:ecr:${region}:${acct}:repository/${inputs.name}`;
      break;
    case 'aws:msk/cluster:Cluster': {
      const uuid = `${hex(name, 8)}-${hex(name + 'a', 4)}-${hex(name + 'b', 4)}-${hex(name + 'c', 4)}-${hex(name + 'd', 12)}-2`;
      state.arn = `arn:aws:kafka:${region}:${acct}:cluster/${inputs.clusterName}/${uuid}`;
      state.clusterUuid = uuid;
      state.bootstrapBrokersSaslIam = Array.from(
        { length: Number(inputs.numberOfBrokerNodes ?? 3) },
        (_, i) => `b-${i + 1}.${inputs.clusterName}.${id.slice(0, 6)}.c2.kafka.${region}.amazonaws.com:9098`,
      ).join(',');
      break;
    }
    case 'aws:elasticache/replicationGroup:ReplicationGroup':
      // As AWS names them: master.<id>.<hash>.<short region>.cache.amazonaws.com.
      state.arn = `arn:aws:elasticache:${region}:${acct}:replicationgroup:${inputs.replicationGroupId}`;
      state.primaryEndpointAddress = `master.${inputs.replicationGroupId}.${id.slice(0, 6)}.${zoneIdPrefix(region)}.cache.amazonaws.com`;
      state.readerEndpointAddress = `replica.${inputs.replicationGroupId}.${id.slice(0, 6)}.${zoneIdPrefix(region)}.cache.amazonaws.com`;
      state.port = inputs.port ?? 6379;
      state.memberClusters = Array.from(
        { length: Number(inputs.numCacheClusters ?? 1) },
        (_, i) => `${inputs.replicationGroupId}-${String(i + 1).padStart(3, '0')}`,
      );
      break;
    case 'aws:elasticache/serverlessCache:ServerlessCache':
      state.arn = `arn:aws:elasticache:${region}:${acct}:serverlesscache:${inputs.name}`;
      state.endpoints = [
        {
          address: `${inputs.name}-${id.slice(0, 6)}.serverless.${zoneIdPrefix(region)}.cache.amazonaws.com`,
          port: 6379,
        },
      ];
      state.readerEndpoints = [
        {
          address: `${inputs.name}-${id.slice(0, 6)}.serverless.${zoneIdPrefix(region)}.cache.amazonaws.com`,
          port: 6380,
        },
      ];
      break;
    case 'aws:elasticache/user:User':
      state.arn = `arn:aws:elasticache:${region}:${acct}:user:${inputs.userId}`;
      break;
    case 'aws:elasticache/userGroup:UserGroup':
      state.arn = `arn:aws:elasticache:${region}:${acct}:usergroup:${inputs.userGroupId}`;
      break;
    case 'aws:msk/configuration:Configuration':
      state.latestRevision = 1;
      break;
    case 'aws:ec2/vpc:Vpc':
      state.cidrBlock = inputs.cidrBlock;
      break;
    case 'aws:kms/key:Key':
      state.keyId = `${hex(name, 8)}-${hex(`${name}a`, 4)}-${hex(`${name}b`, 4)}-${hex(`${name}c`, 4)}-${hex(`${name}d`, 12)}`;
      state.arn = `arn:aws:kms:${region}:${acct}:key/${state.keyId}`;
      break;
    case 'aws:sns/topic:Topic':
      state.arn = `arn:aws:sns:${region}:${acct}:${state.name}`;
      break;
    case 'aws:secretsmanager/secret:Secret':
      state.arn = `arn:aws:secretsmanager:${region}:${acct}:secret:${inputs.namePrefix ?? name}${id.slice(0, 6)}`;
      break;
    case 'aws:iam/role:Role':
      state.arn = `arn:aws:iam::${acct}:role/${state.name}`;
      break;
    case 'aws:ecs/cluster:Cluster':
    case 'aws:ecs/service:Service':
      state.name = inputs.name ?? state.name;
      break;
    case 'aws:cloudwatch/logGroup:LogGroup':
      state.arn = `arn:aws:logs:${region}:${acct}:log-group:${state.name}`;
      break;
    case 'aws:secretsmanager/secretVersion:SecretVersion': {
      // Every value stored is a version of its own, with a new id.
      const value = JSON.stringify(reveal(inputs.secretString));
      state.versionId = `${hex(value, 8)}-${hex(`${value}a`, 4)}-${hex(`${value}b`, 4)}-${hex(`${value}c`, 4)}-${hex(`${value}d`, 12)}`;
      break;
    }
    case 'docker-build:index:Image':
      state.digest = `sha256:${hex(name, 64)}`;
      break;
  }
  return state;
}

/** Mocks plus the list they fill; `aliasesOf` supplies each registration's aliases (see `recordAliases`). */
export function createMocks(aliasesOf: (type: string, name: string) => readonly DeclaredAlias[] = () => []): {
  mocks: pulumi.runtime.Mocks;
  resources: DeclaredResource[];
} {
  const resources: DeclaredResource[] = [];
  const mocks: pulumi.runtime.Mocks = {
    newResource(args) {
      const region =
        providerRegion(args.provider) ??
        (args.type.startsWith('pulumi:providers:aws') ? args.inputs.region : undefined);
      const id = `${args.name}-${hex(args.name, 8)}`;
      const state = mockState(args.type, args.name, args.inputs, region ?? 'us-west-2');
      const declared = {
        type: args.type,
        name: args.name,
        inputs: args.inputs,
        id,
        state,
        aliases: aliasesOf(args.type, args.name),
      };
      resources.push(
        region && !args.type.startsWith('pulumi:providers:') ? { ...declared, region } : declared,
      );
      return { id, state };
    },
    call(args) {
      const region = providerRegion(args.provider) ?? 'us-west-2';
      switch (args.token) {
        case 'aws:index/getCallerIdentity:getCallerIdentity':
          return {
            accountId: MOCK_ACCOUNT,
            arn: `arn:aws:iam::${MOCK_ACCOUNT}:user/synth`,
            userId: 'synth',
            id: MOCK_ACCOUNT,
          };
        case 'aws:index/getAvailabilityZones:getAvailabilityZones':
          // Zone ids are shuffled against names, as they are in real accounts.
          return {
            names: ['a', 'b', 'c', 'd', 'e', 'f'].map((z) => `${region}${z}`),
            zoneIds: [3, 1, 2, 6, 4, 5].map((n) => `${zoneIdPrefix(region)}-az${n}`),
            id: region,
          };
        case 'aws:index/getPartition:getPartition':
          return { partition: 'aws', dnsSuffix: 'amazonaws.com', id: 'aws' };
        case 'aws:ecr/getAuthorizationToken:getAuthorizationToken':
          return {
            userName: 'AWS',
            password: 'mock-token',
            authorizationToken: 'mock',
            proxyEndpoint: '',
            id: region,
          };
        case 'aws:ec2/getVpc:getVpc':
          return { ...args.inputs, cidrBlock: '10.200.0.0/16' };
        default:
          return args.inputs;
      }
    },
  };
  return { mocks, resources };
}

/**
 * Runs the program once under mocks with the given raw `wsgw:` values (objects are stored
 * JSON-encoded, as the Pulumi CLI passes them) and waits until every resource is declared.
 * Pulumi's runtime is process-global: call this once per process (vitest runs each test file in
 * its own fork).
 */
export async function runProgram<T>(p: {
  readonly stack: string;
  readonly config: Readonly<Record<string, unknown>>;
  readonly secrets?: Readonly<Record<string, string>>;
  readonly load: () => Promise<T>;
}): Promise<ProgramRun<T>> {
  const all: Record<string, string> = {};
  for (const [key, value] of Object.entries(p.config)) {
    const full = key.includes(':') ? key : `wsgw:${key}`;
    all[full] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  for (const [key, value] of Object.entries(p.secrets ?? {})) all[`wsgw:${key}`] = value;
  pulumi.runtime.setAllConfig(
    all,
    Object.keys(p.secrets ?? {}).map((k) => `wsgw:${k}`),
  );
  const aliases = new Map<string, readonly DeclaredAlias[]>();
  const { mocks, resources } = createMocks((type, name) => aliases.get(`${type}::${name}`) ?? []);
  await pulumi.runtime.setMocks(mocks, 'wsgw', p.stack, false);
  recordAliases(aliases);
  const outputs = await p.load();
  // Registrations are asynchronous; this waits for every outstanding one, then closes the
  // mock monitor (nothing may register afterwards — fine for a single program run).
  await pulumi.runtime.disconnect();
  return { resources, outputs };
}

/** The part of a RegisterResourceRequest (Pulumi's resource monitor protocol) read here. */
interface RegisterRequest {
  getType(): string;
  getName(): string;
  getAliasesList(): {
    getUrn(): string;
    getSpec():
      { getName(): string; getType(): string; getParenturn(): string; getNoparent(): boolean } | undefined;
  }[];
}

/**
 * `Mocks.newResource` is not told a resource's aliases, so the mock monitor's registerResource is
 * wrapped to note them (by type and name) before the mocks see the registration.
 */
function recordAliases(into: Map<string, readonly DeclaredAlias[]>): void {
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource(req: RegisterRequest, callback: unknown): unknown;
  };
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, callback) => {
    const aliases = req.getAliasesList().map((a): DeclaredAlias => {
      const spec = a.getSpec();
      if (!spec) return { urn: a.getUrn() };
      return {
        ...(spec.getName() ? { name: spec.getName() } : {}),
        ...(spec.getType() ? { type: spec.getType() } : {}),
        ...(spec.getParenturn() ? { parentUrn: spec.getParenturn() } : {}),
        ...(spec.getNoparent() ? { noParent: true } : {}),
      };
    });
    into.set(`${req.getType()}::${req.getName()}`, aliases);
    return register(req, callback);
  };
}

/** Pulumi's marker of a serialized secret, as mocks receive it: `{ [SIG_KEY]: SECRET_SIG, value }`. */
const SIG_KEY = '4dabf18193072939515e22adb298388d';
const SECRET_SIG = '1b47061264138c4ac30d75fd1eb44270';

/** Whether a declared input value is a secret. */
export function isSecret(v: unknown): boolean {
  return typeof v === 'object' && v !== null && (v as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

/** A declared input with every secret replaced by its value, for assertions on the content. */
export function reveal<T = any>(v: unknown): T {
  if (isSecret(v)) return reveal((v as { value: unknown }).value);
  if (Array.isArray(v)) return v.map((x) => reveal(x)) as T;
  if (typeof v === 'object' && v !== null)
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, reveal(x)])) as T;
  return v as T;
}

/** Resolves an output (preview=false, so unknowns resolve to undefined rather than hang). */
export function resolve<T>(o: pulumi.Input<T>): Promise<T> {
  return new Promise((r) => pulumi.output(o).apply((v) => r(v as T)));
}
