// The softphone page junction serves: it loads, shows live health, and has
// JsSIP available. (Registration through the page is in jssip-register.)
import { plan, ok, done, diag, startJunction, stopJunction, launchBrowser, junctionLog, WORK } from './lib.mjs';
import path from 'node:path';

plan(9);
const conf = `[api]\nhttp_listen = 127.0.0.1:18180\n[websocket]\nlisten = 127.0.0.1:18181\n` +
  `[sip]\nudp_listen = 127.0.0.1:15160\ntcp_listen = 127.0.0.1:15160\n[user:alice]\npassword = alice\n` +
  `[route:echo]\nmatch = ^echo$\ntarget = echo\n`;
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
  await page.goto('http://127.0.0.1:18180/');
  ok(await page.isHidden('#keypad'), 'the keypad is hidden outside a call');

  // Register through the page's own form (JsSIP over ws, digest auth).
  await page.fill('#ws', 'ws://127.0.0.1:18181/');
  await page.click('#register');
  await page.waitForFunction(() => /Registered|failed/.test(document.getElementById('phone-status').textContent), null, { timeout: 10000 }).catch(() => {});
  const reg = await page.textContent('#phone-status');
  ok(reg === 'Registered.', 'the page registers alice through JsSIP', reg);

  // The softphone calls echo over SIP (INVITE -> 407 -> INVITE -> 200).
  await page.click('#call');
  await page.waitForFunction(() => /In call|failed/.test(document.getElementById('phone-status').textContent), null, { timeout: 15000 }).catch(() => {});
  const call = await page.textContent('#phone-status');
  ok(call === 'In call.' && await page.isVisible('#keypad'), 'the softphone calls echo over SIP and shows the keypad', call);
  await page.click('#hangup');

  // The page's echo test over the JSON channel reaches "connected".
  await page.click('#echo-start');
  await page.waitForFunction(() => /connected|error|failed/.test(document.getElementById('echo-status').textContent), null, { timeout: 15000 }).catch(() => {});
  const echo = await page.textContent('#echo-status');
  ok(echo === 'connection connected', 'the page\'s echo test connects (ICE + DTLS through the JSON channel)', echo);
  await page.screenshot({ path: path.join(WORK, 'softphone.png') });
  await page.click('#echo-stop');
} catch (e) {
  ok(false, `unexpected error: ${e.message}`, junctionLog());
} finally {
  if (browser) await browser.close();
  const code = await stopJunction(jn);
  if (code !== 0) diag(`junction exited with ${code}\n${junctionLog()}`);
  done();
}
