// JsSIP in headless Chromium calls junction's built-in "echo" over SIP
// (WebSocket, RFC 7118): REGISTER with digest auth, INVITE -> 407 ->
// INVITE with Proxy-Authorization -> 200 with the SDP answer -> ACK; the
// browser hears its own 440 Hz tone back; BYE from the browser -> 200 and
// one CDR line with cause "normal". Then: an unknown number gets 404, and a
// wrong password is refused (403). See docs/calls.md.
import path from 'node:path';
import { plan, ok, done, diag, WORK, startJunction, stopJunction, launchBrowser, junctionLog, toneWav, sleep, waitFor,
         pageHears, cdrLines, openPage } from './lib.mjs';

plan(20);
const HTTP = 18480, WS = 18481;
const WSURL = `ws://127.0.0.1:${WS}`;
const CDR = path.join(WORK, 'cdr.jsonl');
const conf = `[general]\ncdr_file = ${CDR}\n` +
  `[api]\nhttp_listen = 127.0.0.1:${HTTP}\n[websocket]\nlisten = 127.0.0.1:${WS}\n` +
  `[sip]\nudp_listen = 127.0.0.1:15460\ntcp_listen = 127.0.0.1:15460\nauth_algorithms = MD5\n` +
  `[webrtc]\nlocal_addresses = 127.0.0.1\nport_min = 24500\nport_max = 24999\nconsent_timeout = 5\n` +
  `[user:dave]\npassword = d4ve-secret\nmax_calls = 1\n` +
  `[route:echo]\nmatch = ^echo$\ntarget = echo\n`;

// In the page: a JsSIP UA that records the first line of every SIP message.
const pageSetup = () => {
  window.jn = { wire: [] };
  const Orig = window.WebSocket;
  window.WebSocket = class extends Orig {
    constructor(...a) {
      super(...a);
      this.addEventListener('message', e => jn.wire.push('< ' + String(e.data).split('\r\n')[0]));
    }
    send(d) { jn.wire.push('> ' + String(d).split('\r\n')[0]); return super.send(d); }
  };
  jn.start = async (ws, user, password, register) => {
    const r = await jnStartUA(ws, user, password, { register, connection_recovery_min_interval: 30 });
    jn.ua = r.ua;
    return r.status;
  };
  // Calls target; resolves with 'confirmed' or 'failed STATUS CAUSE'.
  jn.call = target => {
    const c = jnCall(jn.ua, target, { on: { ended: e => { jn.ended = `${e.originator} ${e.cause}`; } } });
    jn.session = c.session;
    return c.result;
  };
  jn.stats = () => jnRtpStats(jn.session.connection);
  jn.capture = () => jnCapture(jnAudioTrack(jn.session.connection));
  // A re-INVITE with an ICE restart; resolves when JsSIP applied the 200's answer.
  jn.renegotiate = () => new Promise(res => {
    const t = setTimeout(() => res('timeout'), 8000);
    const started = jn.session.renegotiate({ rtcOfferConstraints: { iceRestart: true } }, () => { clearTimeout(t); res('done'); });
    if (!started) { clearTimeout(t); res('not started'); }
  });
  jn.hangup = () => jnHangup(jn.session);
  jn.stop = () => { jn.ua.stop(); };
};

const cdr = () => cdrLines(CDR);

let jn, browser;
try {
  jn = await startJunction(conf, { httpPort: HTTP });
  browser = await launchBrowser({ audioFile: toneWav('tone440.wav', 440, 30) });
  const { page, errors } = await openPage(browser, HTTP, pageSetup);

  // ---- the echo call ----
  const reg = await page.evaluate(([ws]) => jn.start(ws, 'dave', 'd4ve-secret', true), [WSURL]);
  ok(reg === 'ok', 'JsSIP registers as user dave', reg);
  const res = await page.evaluate(() => jn.call('echo'));
  const wire = () => page.evaluate(() => jn.wire.slice());
  let w = await wire();
  ok(res === 'confirmed', 'the call to echo is confirmed', { res, wire: w });
  const seq = w.filter(l => /^> (INVITE|ACK)|^< SIP\/2.0 (407|200) .*|^< SIP\/2.0 1\d\d/.test(l))
    .map(l => l.replace(/ sip:.*/, '').replace(/^(< SIP\/2.0 \d+).*/, '$1'));
  const inv = seq.slice(seq.indexOf('> INVITE'));
  ok(w.some(l => l.startsWith('> ACK sip:junction@127.0.0.1:')) && JSON.stringify(inv.filter(l => !/ 1\d\d$/.test(l)).slice(0, 6)) === JSON.stringify(['> INVITE', '< SIP/2.0 407', '> ACK', '> INVITE', '< SIP/2.0 200', '> ACK']),
     'the wire shows INVITE -> 407 (ACK) -> INVITE with credentials -> 200 -> ACK to our Contact', w);
  // Measure once media flows both ways (DTLS follows the ACK).
  let a = {};
  for (let i = 0; i < 50 && !(a.received > 0); i++) { await sleep(100); a = await page.evaluate(() => jn.stats()); }
  await sleep(4000);
  const b = await page.evaluate(() => jn.stats());
  const sent = b.sent - a.sent, recv = b.received - a.received;
  ok(sent > 100 && recv >= 0.9 * sent, `over 4 s ${recv} of ${sent} sent packets came back`, { a, b });
  const ra = await pageHears(page, () => jn.capture());
  ok(Math.abs(ra.freq - 440) <= 10 && ra.rms > 0.01, `the browser hears its tone: peak ${ra.freq} Hz, rms ${ra.rms.toFixed(3)}`, ra);
  const rn = await page.evaluate(() => jn.renegotiate());
  await sleep(1000);
  const c1 = await page.evaluate(() => jn.stats());
  await sleep(2000);
  const c2 = await page.evaluate(() => jn.stats());
  w = await wire();
  ok(rn === 'done' && w.filter(l => l.startsWith('> INVITE')).length === 3 && c2.sent - c1.sent > 50 && c2.received - c1.received >= 0.9 * (c2.sent - c1.sent),
     `re-INVITE with an ICE restart: 200, and ${c2.received - c1.received} of ${c2.sent - c1.sent} packets still come back (${rn})`, { c1, c2, w });
  const hang = await page.evaluate(() => jn.hangup());
  await sleep(500); // JsSIP reports "ended" as the BYE leaves
  w = await wire();
  const after = w.slice(w.findIndex(l => l.startsWith('> BYE')));
  ok(w.some(l => l.startsWith('> BYE')) && after.some(l => /^< SIP\/2.0 200/.test(l)), `hangup: BYE -> 200 (${hang})`, w);
  ok(await waitFor(() => cdr().length === 1, 5000) && cdr()[0].cause === 'normal',
     'one CDR line with cause normal', cdr());
  const rec = cdr()[0] || {};
  ok(rec.caller === 'user:dave' && rec.target === 'echo' && rec.callee === 'echo' && rec.answer && rec.route === 'echo',
     'the CDR names caller, callee, route, target and the answer time', rec);

  // ---- unknown number: 404 ----
  const r404 = await page.evaluate(() => jn.call('nobody-here'));
  ok(/^failed 404/.test(r404), `an unknown number fails with 404 (${r404})`);
  ok(await waitFor(() => cdr().length === 2, 5000) && cdr()[1].cause === 'rejected' && cdr()[1].sip_code === 404,
     'its CDR line: rejected, 404', cdr()[1]);
  await page.evaluate(() => jn.stop());
  await sleep(300);

  // ---- wrong password: refused ----
  await page.evaluate(() => { jn.wire.length = 0; });
  await page.evaluate(([ws]) => jn.start(ws, 'dave', 'wrong', false), [WSURL]);
  const rbad = await page.evaluate(() => jn.call('echo'));
  ok(/^failed 403/.test(rbad), `a wrong password is refused (${rbad})`, await wire());
  await page.evaluate(() => jn.stop());
  await sleep(300);

  // ---- the browser's media vanishes: junction hangs up (BYE) ----
  await page.evaluate(([ws]) => jn.start(ws, 'dave', 'd4ve-secret', false), [WSURL]);
  const rg = await page.evaluate(() => jn.call('echo'));
  await page.evaluate(() => { jn.ended = null; jn.session.connection.close(); });
  let ended = null;
  for (let i = 0; i < 100 && !ended; i++) { await sleep(100); ended = await page.evaluate(() => jn.ended); }
  ok(rg === 'confirmed' && ended === 'remote Terminated', `ICE consent lost: junction sends BYE (${rg}, ended: ${ended})`, await wire());
  ok(await waitFor(() => cdr().length === 3, 3000) && cdr()[2].cause === 'browser_gone',
     'its CDR line: browser_gone', cdr()[2]);

  // ---- call limit, then drain: SIGTERM during a call ----
  const r2 = await page.evaluate(() => jn.call('echo'));
  ok(r2 === 'confirmed', 'a second echo call is confirmed', r2);
  await page.evaluate(() => { jn.first = jn.session; });
  const rbusy = await page.evaluate(() => jn.call('echo'));
  ok(/^failed 486/.test(rbusy), `a call beyond max_calls = 1 gets 486 (${rbusy})`);
  jn.kill('SIGTERM');
  await sleep(300);
  const rdrain = await page.evaluate(() => jn.call('echo'));
  ok(/^failed 503/.test(rdrain) && jn.exitCode === null, `while draining a new call gets 503 and junction waits for the live one (${rdrain})`);
  await page.evaluate(() => { jn.session = jn.first; return jn.hangup(); });
  const exited = await Promise.race([jn.exited, sleep(5000).then(() => null)]);
  ok(exited && exited.code === 0, 'after the hangup the drain ends and junction exits 0', exited);
  const last = cdr();
  ok(last.length === 5 && last[3].cause === 'busy' && last[3].sip_code === 486 && last[4].cause === 'normal',
     'CDR: the 486 as busy, the drained call as normal (the 503 is no call)', last);
  ok(errors.length === 0, 'no script errors on the page', errors.join('\n'));
} catch (e) {
  ok(false, `unexpected error: ${e.stack || e.message}`, junctionLog());
} finally {
  if (browser) await browser.close();
  const code = await stopJunction(jn);
  if (code !== 0) diag(`junction exited with ${code}\n${junctionLog()}`);
  done();
}
