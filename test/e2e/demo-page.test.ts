/**
 * The demo page in a real browser (Debian's Chromium, driven by playwright-core): two people join
 * the same channel in two tabs, one sends, both see it; then the gateway drops the connection and
 * the page reconnects and recovers what was published meanwhile.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { build } from '../helpers/process.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { TestBalancer } from '../helpers/balancer.js';
import { WebSocketServer } from 'ws';

let browser: Browser;
let gw: TestGateway;
let proxy: TestBalancer;

beforeAll(async () => {
  build();
  gw = await startGateway();
  proxy = await new TestBalancer([gw.gateway.port]).listen();
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await proxy?.close();
  await gw?.stop();
});

async function open(): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(proxy.url.replace('ws://', 'http://'));
  await page.getByText('connected to').waitFor();
  return page;
}

async function join(page: Page, ch: string): Promise<void> {
  await page.fill('#channel', ch);
  await page.click('#joinBtn');
  await page.getByText(`joined ${ch}`).waitFor();
}

describe('demo page', () => {
  it('lets two tabs exchange messages on a channel', async () => {
    const [alice, bob] = [await open(), await open()];
    await join(alice, 'room:e2e');
    await join(bob, 'room:e2e');
    await bob.fill('#text', 'hello from bob');
    await bob.click('#sendBtn');
    await alice.locator('#log li', { hasText: 'hello from bob' }).waitFor();
    await bob.locator('#log li', { hasText: 'hello from bob' }).waitFor();
    expect(await bob.inputValue('#text')).toBe('');
  }, 60_000);

  it('negotiates permessage-deflate on its own: a long message goes out compressed once and both tabs show it', async () => {
    const metric = async (name: string): Promise<number> =>
      Number(
        new RegExp(`^${name} (\\d+)$`, 'm').exec(await (await fetch(`${gw.metrics}/metrics`)).text())?.[1] ??
          0,
      );
    const [alice, bob] = [await open(), await open()];
    await join(alice, 'room:deflate');
    await join(bob, 'room:deflate');
    const compressed = await metric('wsgw_compressed_frames_total');
    const inflated = await metric('wsgw_inflated_frames_total');
    const long = `a long story: ${'once upon a time, in a gateway far away, '.repeat(30)}the end`;
    await bob.fill('#text', long);
    await bob.click('#sendBtn');
    await alice.locator('#log li', { hasText: 'the end' }).waitFor();
    await bob.locator('#log li', { hasText: 'the end' }).waitFor();
    // Chromium compresses what it sends once the extension is on (the publish was inflated by the
    // gateway), and the delivery to both tabs was one compressed frame.
    expect(await metric('wsgw_inflated_frames_total')).toBeGreaterThan(inflated);
    expect(await metric('wsgw_compressed_frames_total')).toBe(compressed + 1);
  }, 60_000);

  it('reconnects after the link drops and shows what was missed', async () => {
    const page = await open();
    await join(page, 'room:away');
    await new Promise((r) => setTimeout(r, 100));
    proxy.dropAll();
    await page.getByText('disconnected (1006').first().waitFor();
    await gw.gateway.publish(
      'room:away',
      'application/json',
      Buffer.from(JSON.stringify({ text: 'sent while you were away' })),
    );
    await page.getByText(/back on room:away, recovered 1 missed message/).waitFor({ timeout: 15_000 });
    await page.locator('#log li', { hasText: 'sent while you were away' }).waitFor();
    await page.screenshot({ path: 'dist/demo-page.png' });
  }, 60_000);

  it('the SDK in the browser notices a dead link (no pongs) and reconnects, without throwing', async () => {
    // A server that accepts WebSockets and never answers: a link that died behind a proxy.
    const dead = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((r) => dead.once('listening', r));
    let connections = 0;
    dead.on('connection', () => connections++);
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(gw.http);
    const url = `ws://127.0.0.1:${(dead.address() as { port: number }).port}/`;
    // As a string: the test file's own import() is rewritten by the test runner, the page's is not.
    await page.evaluate(`(async () => {
      const { WsgwClient } = await import('/wsgw-client.js');
      const client = new WsgwClient({ url: ${JSON.stringify(url)}, pingIntervalMs: 200, backoff: { baseMs: 50, maxMs: 100 } });
      globalThis.errors = [];
      client.on('error', (e) => globalThis.errors.push(e.error.message));
      await client.connect();
    })()`);
    const until = Date.now() + 10_000;
    while (connections < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(connections).toBeGreaterThanOrEqual(2);
    expect(errors).toEqual([]);
    expect(await page.evaluate(() => (globalThis as { errors?: string[] }).errors)).toEqual([]);
    await page.close();
    await new Promise((r) => dead.close(r));
  }, 60_000);
});
