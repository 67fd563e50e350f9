/**
 * Rotating a secret must roll the fleet.
 *
 * AWS rule: "Sensitive data is injected into your container when the container is initially
 * started. If the secret is subsequently updated or rotated, the container will not receive the
 * updated value automatically. You must either launch a new task or ..." (Amazon ECS Developer
 * Guide, Pass Secrets Manager secrets through Amazon ECS environment variables,
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html),
 * where `valueFrom` may name one version:
 * `arn:aws:secretsmanager:region:aws_account_id:secret:secret-name:json-key:version-stage:version-id`
 * (same page). Each new secret value is a new version with its own id (Secrets Manager, What's in
 * a secret, https://docs.aws.amazon.com/secretsmanager/latest/userguide/whats-in-a-secret.html);
 * the mocks give a SecretVersion an id derived from its value, as AWS gives each value a new one.
 * A task definition pinned to the version id changes with the value, so ECS starts new tasks with
 * it; one without a version would keep old tasks on the old value and start new ones on the new.
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { ENV } from '../../services/shared/src/constants.js';
import { type DeclaredResource, runProgram } from '../../infra/mocks.js';
import { generatedConfig } from './deployment.js';

async function plan(jwtSecret: string): Promise<readonly DeclaredResource[]> {
  vi.resetModules();
  return (
    await runProgram({
      stack: 'rot',
      config: generatedConfig(2),
      secrets: { jwtSecret },
      load: () => import('../../infra/index.js'),
    })
  ).resources;
}

const taskDefinitions = (rs: readonly DeclaredResource[]) =>
  new Map(
    rs
      .filter((r) => r.type === 'aws:ecs/taskDefinition:TaskDefinition')
      .map((r) => [r.region!, r.inputs.containerDefinitions as string]),
  );

describe('rotating wsgw:jwtSecret', () => {
  let before: readonly DeclaredResource[];
  let after: readonly DeclaredResource[];
  beforeAll(async () => {
    before = await plan('first-secret-0123456789abcdef');
    after = await plan('second-secret-0123456789abcdef');
  });

  it("pins every task to the version of its region's secret that holds the value", () => {
    for (const rs of [before, after]) {
      for (const td of rs.filter((r) => r.type === 'aws:ecs/taskDefinition:TaskDefinition')) {
        const secret = rs.find(
          (r) => r.type === 'aws:secretsmanager/secret:Secret' && r.region === td.region,
        )!;
        const version = rs.find(
          (r) =>
            r.type === 'aws:secretsmanager/secretVersion:SecretVersion' && r.inputs.secretId === secret.id,
        )!;
        const container = JSON.parse(td.inputs.containerDefinitions)[0];
        expect(container.secrets).toContainEqual({
          name: ENV.jwtSecret,
          valueFrom: `${secret.state.arn}:jwtSecret::${version.state.versionId}`,
        });
      }
    }
  });

  it('gives every region a new task definition, differing only in the secret version', () => {
    const a = taskDefinitions(before);
    const b = taskDefinitions(after);
    expect([...b.keys()]).toEqual([...a.keys()]);
    for (const [region, defs] of b) {
      expect(defs, region).not.toBe(a.get(region));
      const strip = (d: string) => d.replace(/:jwtSecret::[^"]+"/g, ':jwtSecret::<version>"');
      expect(strip(defs)).toBe(strip(a.get(region)!));
    }
  });
});
