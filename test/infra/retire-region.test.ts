/**
 * Retiring a region must leave every other region exactly as deployed.
 *
 * AWS rule: a VPC's primary range cannot change in place: AWS::EC2::VPC CidrBlock "Update
 * requires: Replacement" (AWS CloudFormation Template Reference, AWS::EC2::VPC,
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ec2-vpc.html),
 * and so do the subnets in it and the MSK cluster whose ClientSubnets name them
 * (AWS::MSK::Cluster BrokerNodeGroupInfo). A range that followed a region's list position would
 * move for every region after a retired one and replace its VPC, subnets and brokers (data lost).
 * The test states the stronger invariant that makes this impossible: every resource that is not
 * the retired region's keeps identical inputs, and nothing new appears.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { readStackFile } from '../../infra/stack-config.js';
import { type DeclaredResource, reveal, runProgram } from '../../infra/mocks.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SECRETS = { jwtSecret: 'prod-secret-0123456789', publishKey: 'publish-key-0123456789' };
const RETIRED = 'eu-west-1';

async function plan(config: Record<string, unknown>): Promise<readonly DeclaredResource[]> {
  // Pulumi's runtime is process-global: a fresh copy of the program for each run.
  vi.resetModules();
  const run = await runProgram({
    stack: 'prod',
    config,
    secrets: SECRETS,
    load: () => import('../../infra/index.js'),
  });
  return run.resources;
}

const key = (r: DeclaredResource) => `${r.type}::${r.name}`;

describe('retiring a middle region of Pulumi.prod.yaml', () => {
  let before: Map<string, DeclaredResource>;
  let after: Map<string, DeclaredResource>;

  beforeAll(async () => {
    const prod = readStackFile(join(ROOT, 'Pulumi.prod.yaml'));
    const regions = prod['wsgw:regions'] as { name: string }[];
    expect(regions.map((r) => r.name).indexOf(RETIRED)).toBe(1);
    expect(regions.length).toBeGreaterThan(2);
    before = new Map((await plan(prod)).map((r) => [key(r), r]));
    after = new Map(
      (await plan({ ...prod, 'wsgw:regions': regions.filter((r) => r.name !== RETIRED) })).map((r) => [
        key(r),
        r,
      ]),
    );
  });

  it('removes only resources of the retired region', () => {
    const removed = [...before.keys()].filter((k) => !after.has(k));
    expect(removed.length).toBeGreaterThan(0);
    for (const k of removed) expect(k, 'a removed resource').toContain(RETIRED);
  });

  it('adds nothing', () => {
    expect([...after.keys()].filter((k) => !before.has(k))).toEqual([]);
  });

  it('leaves every other resource, in every other region and globally, with identical inputs', () => {
    const changed = [...after.values()].filter(
      (r) => JSON.stringify(reveal(r.inputs)) !== JSON.stringify(reveal(before.get(key(r))!.inputs)),
    );
    expect(changed.map(key)).toEqual([]);
  });

  it("keeps the other regions' networks where they were", () => {
    const ranges = (m: Map<string, DeclaredResource>) =>
      [...m.values()]
        .filter((r) => r.type === 'aws:ec2/vpc:Vpc' && r.region !== RETIRED)
        .map((r) => `${r.region} ${r.inputs.cidrBlock}`);
    expect(ranges(after)).toEqual(ranges(before));
    expect(ranges(after).length).toBeGreaterThan(1);
  });
});
