// Attended transfer (REFER with Replaces, RFC 3515 + RFC 3891) by a browser:
// baresip P (the trunk "pstn", 880 Hz) dials erin's DID; erin (JsSIP)
// answers, calls 3001 (trunk "ext" = baresip E, auto-answer,
// 660 Hz), then refers P to E with Replaces naming her second call. Checks:
// the REFER is accepted, both of erin's sessions end (junction BYEs them),
// P and E stay connected and hear each other (sndfile recordings: P hears
// 660 Hz, E hears 880 Hz after the transfer), hangup from P reaches E, and
// the CDR has the second call "transferred" and the first one normal with
// P and E as its legs. See docs/calls.md.
import path from 'node:path';
import { plan, ok, done, WORK, startJunction, stopJunction, launchBrowser, junctionLog, toneWav, waitFor,
         baresipControl, sleep, startBaresip, decodedWav, analyseWav, cdrLines, openPage } from './lib.mjs';

plan(8);
const HTTP = 19080, WS = 19081, SIPPORT = 16060, PPORT = 16070, EPORT = 16080;
const WSURL = `ws://127.0.0.1:${WS}`;
const CDR = path.join(WORK, 'cdr.jsonl');
const conf = `[general]\ncdr_file = ${CDR}\n[api]\nhttp_listen = 127.0.0.1:${HTTP}\n` +
  `[websocket]\nlisten = 127.0.0.1:${WS}\n[sip]\nudp_listen = 127.0.0.1:${SIPPORT}\ntcp_listen =\nauth_algorithms = MD5\n` +
  `[webrtc]\nlocal_addresses = 127.0.0.1\nport_min = 30000\nport_max = 30499\n` +
  `[media]\nrtp_address = 127.0.0.1\nrtp_port_min = 30500\nrtp_port_max = 30599\n` +
  `[user:erin]\npassword = er1n-secret\n` +
  `[trunk:pstn]\nhost = 127.0.0.1\nport = ${PPORT}\ncodecs = pcmu\n` +
  `[trunk:ext]\nhost = 127.0.0.1\nport = ${EPORT}\ncodecs = pcmu\n` +
  `[route:did]\nmatch = ^5551234$\nfrom = trunk:pstn\ntarget = user:erin\n` +
  `[route:ext]\nmatch = ^3\\d+$\nstrip = 4\nprepend = ext\ntarget = trunk:ext\n`;

// A baresip whose ctrl_tcp listens on its SIP port + 5.
const baresip = (name, port, rtp, wav, accounts) => startBaresip({ name, port, ctrl: port + 5, rtp, wav, accounts });

const pageSetup = () => {
  window.jn = {};
  jn.register = async (ws, user, password) => {
    const r = await jnStartUA(ws, user, password, { register: true, on: {
      newRTCSession: e => {
        if (e.originator !== 'remote') return;
        jn.s1 = e.session;
        jn.s1ended = null;
        e.session.on('ended', ev => { jn.s1ended = `${ev.originator} ${ev.cause}`; });
      },
    } });
    jn.ua = r.ua;
    return r.status;
  };
  jn.answer = () => new Promise(res => {
    jn.s1.on('confirmed', () => res('confirmed'));
    jn.s1.on('failed', e => res(`failed ${e.cause}`));
    jn.s1.answer(jnMedia);
  });
  jn.hold = () => new Promise(res => { jn.s1.hold({}, () => res('held')); setTimeout(() => res('timeout'), 5000); });
  jn.call2 = target => {
    jn.s2ended = null;
    const c = jnCall(jn.ua, target, { on: { ended: e => { jn.s2ended = `${e.originator} ${e.cause}`; } } });
    jn.s2 = c.session;
    return c.result;
  };
  jn.refer = () => new Promise(res => {
    const t = setTimeout(() => res('timeout'), 10000);
    const target = jn.s2.remote_identity.uri;
    jn.s1.refer(target, { replaces: jn.s2, eventHandlers: {
      requestSucceeded: () => { jn.referAccepted = true; },
      requestFailed: e => { clearTimeout(t); res(`refused ${e.cause}`); },
      accepted: () => { clearTimeout(t); res('accepted'); },
      failed: e => { clearTimeout(t); res(`failed ${e.cause}`); },
    } });
  });
  jn.ended = () => ({ s1: jn.s1ended, s2: jn.s2ended });
};

let jn, P, E, browser;
try {
  P = baresip('p', PPORT, '30600-30699', toneWav('tone880.wav', 880, 60, 8000),
    `<sip:pstn@127.0.0.1:${PPORT}>;regint=0;answermode=manual;audio_codecs=PCMU`);
  E = baresip('e', EPORT, '30700-30799', toneWav('tone660.wav', 660, 60, 8000),
    `<sip:ext@127.0.0.1:${EPORT}>;regint=0;answermode=auto;audio_codecs=PCMU`);
  await sleep(500);
  const pc = await baresipControl(PPORT + 5), ec = await baresipControl(EPORT + 5);
  jn = await startJunction(conf, { httpPort: HTTP });
  browser = await launchBrowser({ audioFile: toneWav('tone440.wav', 440, 60) });
  const { page, wire } = await openPage(browser, HTTP, pageSetup, { record: true });
  const reg = await page.evaluate(ws => jn.register(ws, 'erin', 'er1n-secret'), WSURL);

  await pc.command('dial', `sip:5551234@127.0.0.1:${SIPPORT}`);
  await waitFor(() => page.evaluate(() => !!jn.s1), 8000);
  const a1 = await page.evaluate(() => jn.answer());
  // No hold before the transfer: baresip 1.0 stops decoding after a re-INVITE
  // that made it recvonly (a pcap shows our stream to it continuous).
  const h = 'not held';
  const a2 = await page.evaluate(() => jn.call2('3001'));
  ok(reg === 'ok' && a1 === 'confirmed' &&  a2 === 'confirmed',
     `erin answers P, calls E (${reg} ${a1} ${h} ${a2})`, await wire({ last: 14, full: true }));
  await sleep(1000);

  const tTransfer = Date.now();
  const r = await page.evaluate(() => jn.refer());
  ok(r === 'accepted', `the REFER with Replaces is accepted and reported done (${r})`, junctionLog());
  const ended = await waitFor(async () => { const e = await page.evaluate(() => jn.ended()); return e.s1 && e.s2 && e; }, 8000);
  ok(ended && /remote/.test(ended.s1) && /remote/.test(ended.s2),
     `both of erin's sessions are ended by junction (${JSON.stringify(ended)})`, junctionLog());
  await sleep(4000);
  const pEst = pc.events.filter(e => e.type === 'CALL_CLOSED').length === 0;
  const eEst = ec.events.filter(e => e.type === 'CALL_CLOSED').length === 0;
  ok(pEst && eEst, 'P and E are still in their calls', JSON.stringify(pc.events) + JSON.stringify(ec.events));
  await pc.command('hangup');
  const eClosed = await waitFor(() => ec.events.find(e => e.type === 'CALL_CLOSED'), 6000);
  ok(!!eClosed, `hangup from P reaches E (${eClosed && eClosed.param})`, junctionLog());
  await sleep(800);
  // The dumps run the whole call: the last ~3 s are after the transfer.
  const since = (Date.now() - tTransfer) / 1000;
  const rp = decodedWav(P.snd);
  const wp = analyseWav(rp), we = analyseWav(decodedWav(E.snd));
  const wpLate = analyseWav(rp, rp ? Math.max(0, rp.samples.length / rp.rate - 3) : 0);
  ok(wpLate && Math.abs(wpLate.freq - 660) < 30 && wpLate.rms > 0.02,
     `P hears E's 660 Hz after the transfer (${wpLate.freq} Hz, rms ${wpLate.rms.toFixed(3)}; whole call ${wp && wp.freq} Hz, ${since.toFixed(1)} s since)`,
     P.log().replace(/\[0:0[^\n]*audio=[^\n]*/g, '').slice(-4000));
  ok(we && Math.abs(we.freq - 880) < 30 && we.rms > 0.02, `E heard P's 880 Hz (${we && we.freq} Hz)`);

  await waitFor(() => cdrLines(CDR).length >= 2, 5000);
  const recs = cdrLines(CDR);
  const x = recs.find(q => q.target === 'trunk:ext'), d = recs.find(q => q.target === 'user:erin');
  ok(x && d && x.cause === 'transferred' && d.cause === 'normal',
     `CDR: erin's call to E transferred, P's call normal (${recs.map(q => q.target + ':' + q.cause).join(' ')})`, JSON.stringify(recs));
} catch (e) {
  ok(false, `test crashed: ${e.stack}`, junctionLog());
} finally {
  if (browser) await browser.close();
  for (const p of [P, E]) if (p) await p.stop('SIGKILL');
  if (jn) await stopJunction(jn);
  done();
}
