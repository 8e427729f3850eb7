// The softphone page junction serves: it loads, shows live health, and has
// JsSIP available; it registers, calls echo, and runs the echo test. Then
// calls INTO the page: bob (a bare JsSIP UA in a second tab) calls alice; the
// page shows the caller with Answer / Decline, answers, sends DTMF from its
// keypad (bob's newDTMF), shows bob's hold and resume, holds and resumes
// itself (bob sees both), and goes back to idle when bob hangs up; a declined
// call reaches bob as 603, and a call bob gives up on shows as missed.
import { plan, ok, done, diag, startJunction, stopJunction, launchBrowser, junctionLog, jssipBundle, waitFor, recordSip, WORK } from './lib.mjs';
import path from 'node:path';

plan(19);
const conf = `[api]\nhttp_listen = 127.0.0.1:18180\n[websocket]\nlisten = 127.0.0.1:18181\n` +
  `[sip]\nudp_listen = 127.0.0.1:15160\ntcp_listen = 127.0.0.1:15160\n[user:alice]\npassword = alice\n` +
  `[route:echo]\nmatch = ^echo$\ntarget = echo\n` +
  `[user:bob]\npassword = b0b\n[route:users]\nmatch = ^(alice|bob)$\ntarget = user:$1\n`;

// bob's side: a bare JsSIP UA; jn.state tells what became of his call.
const bobSetup = () => {
  window.jn = { dtmf: '', hold: [] };
  jn.start = ws => new Promise(res => {
    jn.ua = new JsSIP.UA({ sockets: [new JsSIP.WebSocketInterface(ws)], uri: 'sip:bob@127.0.0.1', password: 'b0b',
                           display_name: 'Bob', register: false, session_timers: false });
    const t = setTimeout(() => res('timeout'), 5000);
    jn.ua.on('connected', () => { clearTimeout(t); res('connected'); });
    jn.ua.start();
  });
  jn.call = () => {
    jn.state = 'calling';
    const s = jn.session = jn.ua.call('sip:alice@127.0.0.1', { mediaConstraints: { audio: true, video: false }, pcConfig: { iceServers: [] } });
    s.on('progress', () => { jn.state = 'ringing'; });
    s.on('confirmed', () => { jn.state = 'confirmed'; });
    s.on('failed', e => { jn.state = `failed ${e.originator} ${e.cause} ${e.message ? e.message.status_code : ''}`.trim(); });
    s.on('ended', e => { jn.state = `ended ${e.originator} ${e.cause}`; });
    s.on('hold', e => jn.hold.push(`hold ${e.originator}`));
    s.on('unhold', e => jn.hold.push(`unhold ${e.originator}`));
    s.on('newDTMF', e => { if (e.originator === 'remote') jn.dtmf += e.dtmf.tone; });
  };
};
let jn, browser;
try {
  jn = await startJunction(conf, { httpPort: 18180 });
  browser = await launchBrowser();
  const page = await browser.newPage();
  // The page's SIP on the wire, shown when a check fails.
  const wire = await recordSip(page);
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

  // ---- calls into the page ----
  const bob = await browser.newPage();
  // An http://127.0.0.1 origin (a secure context: getUserMedia works there).
  await bob.goto('http://127.0.0.1:18180/');
  await bob.addScriptTag({ content: jssipBundle() });
  await bob.evaluate(bobSetup);
  await bob.evaluate(ws => jn.start(ws), 'ws://127.0.0.1:18181/');
  const bobState = () => bob.evaluate(() => jn.state);
  const status = () => page.textContent('#phone-status');
  const statusIs = re => page.waitForFunction(r => new RegExp(r).test(document.getElementById('phone-status').textContent),
                                              re.source, { timeout: 10000 }).catch(() => {});
  await bob.evaluate(() => jn.call());
  await statusIs(/^Incoming/);
  const from = await page.textContent('#incoming-from');
  await page.screenshot({ path: path.join(WORK, 'softphone-ringing.png') });
  const ringing = await page.evaluate(() => ringer !== null);
  ok(await page.isVisible('#incoming') && /^Bob \(bob@127\.0\.0\.1\)$/.test(from) && await page.isDisabled('#call') && ringing &&
     await page.isHidden('#keypad') && /^Incoming call from Bob/.test(await status()),
     `an incoming call shows the caller (${from}) with Answer / Decline, and rings (${ringing})`, await status() + '\n' + junctionLog());
  await page.click('#answer');
  await statusIs(/^In call/);
  await waitFor(async () => (await bobState()) === 'confirmed', 5000);
  await page.screenshot({ path: path.join(WORK, 'softphone-in-call.png') });
  const playing = await page.evaluate(() => { const s = document.getElementById('remote').srcObject; return !!s && s.getAudioTracks().length; });
  const quiet = await page.evaluate(() => ringer === null), clockText = await page.textContent('#call-time');
  ok(await status() === 'In call.' && await bobState() === 'confirmed' && await page.isVisible('#keypad') && await page.isHidden('#incoming') &&
     playing === 1 && quiet && /^0:0\d$/.test(clockText), `Answer: the page is in the call (${await status()}), bob's call is confirmed, remote audio plays`,
     { bob: await bobState(), playing, quiet, clockText });

  await page.click('#keypad button[data-tone="5"]');
  await page.click('#keypad button[data-tone="#"]');
  await waitFor(() => bob.evaluate(() => jn.dtmf.length >= 2), 5000);
  const got = await bob.evaluate(() => jn.dtmf);
  ok(got === '5#' && await page.textContent('#dtmf-sent') === '5#', `the keypad sends DTMF: bob receives "${got}"`, await wire());

  // bob holds and resumes: the page says so.
  await bob.evaluate(() => jn.session.hold());
  await statusIs(/^Held by the other side/);
  const heldBy = await status();
  await waitFor(() => bob.evaluate(() => jn.hold.length >= 1), 5000);
  await bob.evaluate(() => jn.session.unhold());
  await statusIs(/^In call/);
  await waitFor(() => bob.evaluate(() => jn.hold.length >= 2), 5000);
  ok(heldBy === 'Held by the other side.' && await status() === 'In call.' && await page.textContent('#hold') === 'Hold' &&
     (await bob.evaluate(() => jn.hold)).join() === 'hold local,unhold local',
     `bob holds, then resumes: the page shows "${heldBy}", then "${await status()}"`, await wire());
  await bob.evaluate(() => { jn.hold = []; });

  await new Promise(r => setTimeout(r, 1000));
  await page.click('#hold');
  await statusIs(/^On hold/);
  await waitFor(() => bob.evaluate(() => jn.hold.length >= 1), 5000);
  ok(await status() === 'On hold.' && await page.textContent('#hold') === 'Resume' &&
     (await bob.evaluate(() => jn.hold)).join() === 'hold remote', `Hold: the page shows it, bob's session is held (${await bob.evaluate(() => jn.hold)})`,
     junctionLog());
  await new Promise(r => setTimeout(r, 1000));
  await page.click('#hold');
  await statusIs(/^In call/);
  await waitFor(() => bob.evaluate(() => jn.hold.length >= 2), 5000);
  ok(await status() === 'In call.' && await page.textContent('#hold') === 'Hold' &&
     (await bob.evaluate(() => jn.hold)).join() === 'hold remote,unhold remote', `Resume: both sides are back (${await bob.evaluate(() => jn.hold)})`,
     await wire());

  await bob.evaluate(() => jn.session.terminate());
  await statusIs(/^Call ended/);
  ok(await status() === 'Call ended.' && await page.isHidden('#keypad') && !(await page.isDisabled('#call')) && await page.isDisabled('#hold'),
     `bob hangs up: the page is idle again (${await status()})`);

  // Decline: bob's call fails with 603.
  await bob.evaluate(() => jn.call());
  await statusIs(/^Incoming/);
  await page.click('#decline');
  await waitFor(async () => /^failed/.test(await bobState()), 5000);
  const declined = await bobState();
  ok(/^failed remote \S+ 603$/.test(declined) && await status() === 'Call declined.' && await page.isHidden('#incoming'),
     `Decline: bob's call fails (${declined}); the page says "${await status()}"`, junctionLog());

  // bob gives up while the page rings: a missed call.
  await bob.evaluate(() => jn.call());
  await statusIs(/^Incoming/);
  await waitFor(async () => (await bobState()) === 'ringing', 5000);
  await bob.evaluate(() => jn.session.terminate());
  await statusIs(/^Missed/);
  ok(await status() === 'Missed call from Bob (bob@127.0.0.1).' && await page.isHidden('#incoming') && !(await page.isDisabled('#call')),
     `a cancelled incoming call shows as missed (${await status()})`);
  await page.screenshot({ path: path.join(WORK, 'softphone-incoming.png') });
  ok(errors.length === 0, 'no script errors on the page during the calls', errors.join('\n'));
} catch (e) {
  ok(false, `unexpected error: ${e.message}`, junctionLog());
} finally {
  if (browser) await browser.close();
  const code = await stopJunction(jn);
  if (code !== 0) diag(`junction exited with ${code}\n${junctionLog()}`);
  done();
}
