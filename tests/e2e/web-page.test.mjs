// The softphone page junction serves: it loads, shows live health, and has
// JsSIP available. (Registration through the page is in jssip-register.)
import { plan, ok, done, diag, startJunction, stopJunction, launchBrowser, junctionLog, WORK } from './lib.mjs';
import path from 'node:path';

plan(5);
const conf = `[api]\nhttp_listen = 127.0.0.1:18180\n[websocket]\nlisten = 127.0.0.1:18181\n[sip]\nudp_listen = 127.0.0.1:15160\ntcp_listen = 127.0.0.1:15160\n`;
let jn, browser;
try {
  jn = await startJunction(conf, { httpPort: 18180 });
  browser = await launchBrowser();
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', e => errors.push(e.message));
  const resp = await page.goto('http://127.0.0.1:18180/');
  ok(resp.status() === 200 && (await page.title()) === 'Junction softphone', 'GET / serves the softphone page', resp.status());
  await page.waitForFunction(() => document.getElementById('health').textContent.startsWith('ok'), null, { timeout: 5000 }).catch(() => {});
  const health = await page.textContent('#health');
  ok(/^ok · v\d+\.\d+\.\d+ · up \d+s$/.test(health), 'health pill shows status, version and uptime from /api/v1/health', health);
  ok(await page.evaluate(() => typeof JsSIP === 'object' && typeof JsSIP.UA === 'function'), 'JsSIP bundle loads on the page');
  ok(errors.length === 0, 'no script errors on the page', errors.join('\n'));
  const nf = await page.goto('http://127.0.0.1:18180/api/v1/nope');
  const body = await nf.json().catch(() => null);
  ok(nf.status() === 404 && body && body.error && body.error.code === 'not_found', 'unknown API path: 404 with a JSON error', body);
  await page.screenshot({ path: path.join(WORK, 'softphone.png') });
} catch (e) {
  ok(false, `unexpected error: ${e.message}`, junctionLog());
} finally {
  if (browser) await browser.close();
  const code = await stopJunction(jn);
  if (code !== 0) diag(`junction exited with ${code}\n${junctionLog()}`);
  done();
}
