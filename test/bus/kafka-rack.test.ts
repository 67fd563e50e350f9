import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { parseRackMap, resolveRack } from '../../services/gateway/src/bus/kafka-rack.js';

const racks = parseRackMap('zone-a=az-1,zone-b=az-2');

let server: Server | undefined;
afterEach(() => server?.close());

/** A local stand-in for the ECS task metadata endpoint that answers `/v4/t/task` with `status` and `body`. */
async function metadata(status: number, body: unknown): Promise<string> {
  server = createServer((req, res) => {
    if (req.url !== '/v4/t/task') return void res.writeHead(404).end();
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}/v4/t`;
}

describe('parseRackMap', () => {
  it('reads zone=rack pairs and names the part at fault', () => {
    expect([...racks]).toEqual([
      ['zone-a', 'az-1'],
      ['zone-b', 'az-2'],
    ]);
    expect(() => parseRackMap('zone-a=az-1,zone-b')).toThrow('"zone-b" is not <zone>=<rack>');
    expect(() => parseRackMap('zone-a=az-1=x')).toThrow('"zone-a=az-1=x"');
    expect(() => parseRackMap('zone-a=az 1')).toThrow('"zone-a=az 1"');
    expect(() => parseRackMap('zone-a=1,zone-a=2')).toThrow('zone zone-a is listed twice');
  });
});

describe('resolveRack', () => {
  it('returns no rack when none is configured, and a fixed one as it is', async () => {
    expect(await resolveRack(undefined, { metadataUri: undefined })).toEqual({ rack: undefined });
    expect(await resolveRack({ kind: 'fixed', rack: 'use1-az4' }, { metadataUri: undefined })).toEqual({
      rack: 'use1-az4',
    });
  });

  it('maps the zone the task metadata names to its rack', async () => {
    const uri = await metadata(200, { AvailabilityZone: 'zone-b', DesiredStatus: 'RUNNING' });
    expect(await resolveRack({ kind: 'by-zone', racks }, { metadataUri: uri })).toEqual({
      rack: 'az-2',
      zone: 'zone-b',
    });
  });

  it('reports, without failing, a zone missing from the map or a metadata endpoint that does not help', async () => {
    const setting = { kind: 'by-zone', racks } as const;
    expect(await resolveRack(setting, { metadataUri: undefined })).toMatchObject({
      rack: undefined,
      problem: expect.stringContaining('ECS_CONTAINER_METADATA_URI_V4'),
    });
    let uri = await metadata(200, { AvailabilityZone: 'zone-c' });
    expect(await resolveRack(setting, { metadataUri: uri })).toEqual({
      rack: undefined,
      zone: 'zone-c',
      problem: 'zone zone-c is not in WSGW_KAFKA_RACK_MAP',
    });
    server!.close();
    uri = await metadata(200, { DesiredStatus: 'RUNNING' });
    expect(await resolveRack(setting, { metadataUri: uri })).toEqual({
      rack: undefined,
      problem: 'task metadata names no AvailabilityZone',
    });
    server!.close();
    uri = await metadata(500, {});
    expect(await resolveRack(setting, { metadataUri: uri })).toEqual({
      rack: undefined,
      problem: 'task metadata answered 500',
    });
    server!.close();
    expect(
      (await resolveRack(setting, { metadataUri: 'http://127.0.0.1:1/v4/t', timeoutMs: 500 })).problem,
    ).toMatch(/^task metadata unreachable/);
  });
});
