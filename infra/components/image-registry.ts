import { fileURLToPath } from 'node:url';
import * as aws from '@pulumi/aws';
import * as dockerBuild from '@pulumi/docker-build';
import * as pulumi from '@pulumi/pulumi';
import { ecrRepositoryArnFromImage } from '../plan.js';

/** The repository root: the Docker build context, wherever `pulumi up` is started from. */
export const REPOSITORY_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Images kept per repository; older ones expire (task definitions pin digests, so a rollback within this window still pulls). */
export const IMAGES_KEPT = 30;

export interface ImageRegistryArgs {
  /** The repository name, the same in every region (ECR repositories are regional). */
  readonly repositoryName: string;
  /** Every region of the stack with its provider. */
  readonly regions: readonly { readonly name: string; readonly provider: aws.Provider }[];
  /**
   * The region whose repository, lifecycle policy and build keep the logical names of the single
   * repository this component used to create there, so a deployed stack does not replace them.
   */
  readonly homeRegion: string;
  /** `wsgw:image`: use this reference everywhere; no repository, nothing is built. */
  readonly prebuiltImage?: string;
}

/** One region's image: where tasks pull from and what the execution role may pull. */
export interface RegionImage {
  /** Digest-pinned image reference. */
  readonly image: pulumi.Output<string>;
  /** The ECR repository the execution role may pull from; undefined for an image outside ECR. */
  readonly repositoryArn?: pulumi.Output<string>;
  /** The region's repository URL; undefined with a prebuilt image. */
  readonly repositoryUrl?: pulumi.Output<string>;
}

/**
 * Where the gateway image comes from: unless `wsgw:image` names a prebuilt image, every region has
 * its own ECR repository (scan on push, a lifecycle policy) and its own build of the repository's
 * Dockerfile for linux/arm64, pushed there by the docker-build provider. Task definitions pin the
 * pushed digest, so tags never decide what runs.
 *
 * Why a repository per region and a push into each, rather than ECR replication from one home
 * repository: replication copies only images pushed after its rule exists, so a region added later
 * would never receive the current image, and a registry's replication configuration is one per
 * account and region, shared with every other stack there. A region's build is a resource of that
 * region: adding a region builds and pushes there, retiring one removes only its own.
 */
export class ImageRegistry extends pulumi.ComponentResource {
  /** By region name. */
  readonly images: Readonly<Record<string, RegionImage>>;

  constructor(name: string, args: ImageRegistryArgs, opts: pulumi.ComponentResourceOptions = {}) {
    // Formerly `wsgw:aws:Registry`: the alias keeps the deployed component and, through it, its children.
    super(
      'wsgw:aws:ImageRegistry',
      name,
      {},
      pulumi.mergeOptions(opts, { aliases: [{ type: 'wsgw:aws:Registry' }] }),
    );
    const images: Record<string, RegionImage> = {};

    if (args.prebuiltImage) {
      const arn = ecrRepositoryArnFromImage(args.prebuiltImage);
      for (const r of args.regions) {
        images[r.name] = {
          image: pulumi.output(args.prebuiltImage),
          ...(arn ? { repositoryArn: pulumi.output(arn) } : {}),
        };
      }
    }

    for (const r of args.prebuiltImage ? [] : args.regions) {
      const o = { parent: this, provider: r.provider };
      // The home region's children keep the names of the one repository, policy and build that
      // lived there before every region had its own.
      const legacy = (suffix: string) =>
        r.name === args.homeRegion ? { aliases: [{ name: `${name}-${suffix}` }] } : {};
      const id = `${name}-${r.name}`;

      const repository = new aws.ecr.Repository(
        `${id}-repo`,
        {
          name: args.repositoryName,
          // Mutable tags are harmless here: deployments reference the digest, not the tag.
          imageTagMutability: 'MUTABLE',
          imageScanningConfiguration: { scanOnPush: true },
          encryptionConfigurations: [{ encryptionType: 'AES256' }],
          // Retiring a region deletes its repository; ECR refuses to delete one that holds images
          // unless forced, and the images are build outputs, made again by any `pulumi up`.
          forceDelete: true,
        },
        { ...o, ...legacy('repo') },
      );
      new aws.ecr.LifecyclePolicy(
        `${id}-lifecycle`,
        {
          repository: repository.name,
          policy: JSON.stringify({
            rules: [
              {
                rulePriority: 1,
                description: `keep the last ${IMAGES_KEPT} images`,
                selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: IMAGES_KEPT },
                action: { type: 'expire' },
              },
            ],
          }),
        },
        { ...o, ...legacy('lifecycle') },
      );

      const token = aws.ecr.getAuthorizationTokenOutput({ registryId: repository.registryId }, o);
      const build = new dockerBuild.Image(
        `${id}-image`,
        {
          context: { location: REPOSITORY_ROOT },
          dockerfile: { location: `${REPOSITORY_ROOT}Dockerfile` },
          // The task definitions run on Graviton (ARM64).
          platforms: [dockerBuild.Platform.Linux_arm64],
          push: true,
          tags: [pulumi.interpolate`${repository.repositoryUrl}:latest`],
          registries: [
            {
              address: repository.repositoryUrl,
              username: token.userName,
              password: pulumi.secret(token.password),
            },
          ],
        },
        { parent: this, ...legacy('image') },
      );
      images[r.name] = {
        image: pulumi.interpolate`${repository.repositoryUrl}@${build.digest}`,
        repositoryArn: repository.arn,
        repositoryUrl: repository.repositoryUrl,
      };
    }

    this.images = Object.freeze(images);
    this.registerOutputs({});
  }
}
