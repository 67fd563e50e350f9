import { fileURLToPath } from 'node:url';
import * as aws from '@pulumi/aws';
import * as dockerBuild from '@pulumi/docker-build';
import * as pulumi from '@pulumi/pulumi';
import { ecrRepositoryArnFromImage, ecrRepositoryUrlIn } from '../plan.js';

/** The repository root: the Docker build context, wherever `pulumi up` is started from. */
export const REPOSITORY_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface RegistryArgs {
  readonly repositoryName: string;
  readonly homeRegion: string;
  /** Regions the image must be pullable in (home first). */
  readonly regions: readonly string[];
  readonly accountId: pulumi.Input<string>;
  /** `wsgw:image`: use this reference everywhere and build nothing. */
  readonly prebuiltImage?: string;
}

/**
 * Where the gateway image comes from. An ECR repository in the home region (scan on push)
 * replicates to every other region so tasks pull from their own region — no cross-region
 * pulls, and a home-region outage does not stop scale-out elsewhere. Unless `wsgw:image` names a
 * prebuilt image, the repository's Dockerfile is built for linux/arm64 with the docker-build
 * provider and pushed; task definitions pin the pushed digest, so tags never decide what runs.
 */
export class Registry extends pulumi.ComponentResource {
  readonly repository: aws.ecr.Repository;
  /** Digest-pinned image reference per region. */
  readonly images: Readonly<Record<string, pulumi.Output<string>>>;
  /** The ECR repository ARN per region the execution role may pull; undefined for a non-ECR prebuilt image. */
  readonly repositoryArns: Readonly<Record<string, pulumi.Output<string> | undefined>>;
  readonly image?: dockerBuild.Image;

  constructor(name: string, args: RegistryArgs, opts: pulumi.ComponentResourceOptions) {
    super('wsgw:aws:Registry', name, {}, opts);
    const o = { parent: this };

    this.repository = new aws.ecr.Repository(
      `${name}-repo`,
      {
        name: args.repositoryName,
        // Mutable tags are harmless here: deployments reference the digest, not the tag.
        imageTagMutability: 'MUTABLE',
        imageScanningConfiguration: { scanOnPush: true },
        encryptionConfigurations: [{ encryptionType: 'AES256' }],
      },
      o,
    );
    new aws.ecr.LifecyclePolicy(
      `${name}-lifecycle`,
      {
        repository: this.repository.name,
        policy: JSON.stringify({
          rules: [{ rulePriority: 1, description: 'keep the last 30 images', selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 30 }, action: { type: 'expire' } }],
        }),
      },
      o,
    );

    const others = args.regions.filter((r) => r !== args.homeRegion);
    if (others.length > 0) {
      // Registry-wide setting of the home region: one per account and region. It replaces any
      // replication rules set outside this stack (see docs/infrastructure.md).
      new aws.ecr.ReplicationConfiguration(
        `${name}-replication`,
        {
          replicationConfiguration: {
            rules: [
              {
                destinations: others.map((region) => ({ region, registryId: args.accountId })),
                repositoryFilters: [{ filter: args.repositoryName, filterType: 'PREFIX_MATCH' }],
              },
            ],
          },
        },
        o,
      );
    }

    const images: Record<string, pulumi.Output<string>> = {};
    const repositoryArns: Record<string, pulumi.Output<string> | undefined> = {};
    if (args.prebuiltImage) {
      const arn = ecrRepositoryArnFromImage(args.prebuiltImage);
      for (const region of args.regions) {
        images[region] = pulumi.output(args.prebuiltImage);
        repositoryArns[region] = arn ? pulumi.output(arn) : undefined;
      }
    } else {
      const token = aws.ecr.getAuthorizationTokenOutput({ registryId: this.repository.registryId }, o);
      this.image = new dockerBuild.Image(
        `${name}-image`,
        {
          context: { location: REPOSITORY_ROOT },
          dockerfile: { location: `${REPOSITORY_ROOT}Dockerfile` },
          // The task definitions run on Graviton (ARM64).
          platforms: [dockerBuild.Platform.Linux_arm64],
          push: true,
          tags: [pulumi.interpolate`${this.repository.repositoryUrl}:latest`],
          registries: [{ address: this.repository.repositoryUrl, username: token.userName, password: pulumi.secret(token.password) }],
        },
        o,
      );
      const partition = aws.getPartitionOutput({}, o).partition;
      for (const region of args.regions) {
        images[region] = pulumi.interpolate`${this.repository.repositoryUrl.apply((u) => ecrRepositoryUrlIn(u, region))}@${this.image.digest}`;
        repositoryArns[region] = pulumi.interpolate`arn:${partition}:ecr:${region}:${args.accountId}:repository/${args.repositoryName}`;
      }
    }
    this.images = Object.freeze(images);
    this.repositoryArns = Object.freeze(repositoryArns);
    this.registerOutputs({ repositoryUrl: this.repository.repositoryUrl });
  }
}
