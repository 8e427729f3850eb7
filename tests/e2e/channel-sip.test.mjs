// A browser on the JSON channel (no SIP in the page: a raw RTCPeerConnection
// and junction's WebSocket subprotocol "junction") logs in as a [user:NAME]
// and calls a number routed to a SIP trunk: baresip (auto-answer, PCMU, an
// 880 Hz 8 kHz WAV through aufile, sndfile recording). Checks: login
// refused for a wrong password (same error as an unknown user), a call
// before login refused, a number with no route refused; then the call: the
// page gets our answer early, "answered", hears 880 Hz; baresip heard the
// page's 440 Hz; a DTMF key from the page reaches baresip as RFC 4733; a
// hangup from the page ends baresip's call; the CDR names user:erin ->
// trunk:itsp. See docs/json-channel.md.
import path from 'node:path';
import { plan, ok, done, WORK, startJunction, stopJunction, launchBrowser, junctionLog, toneWav, waitFor,
         baresipControl, sleep, pageHears, startBaresip, decodedWav, analyseWav, cdrLines, openPage } from './lib.mjs';

plan(11);
const HTTP = 18980, WS = 18981, SIPPORT = 15960, TRUNKPORT = 15970, CTRL = 15975;
const WSURL = `ws://127.0.0.1:${WS}/`;
const CDR = path.join(WORK, 'cdr.jsonl');
const conf = `[general]\ncdr_file = ${CDR}\n[api]\nhttp_listen = 127.0.0.1:${HTTP}\n` +
  `[websocket]\nlisten = 127.0.0.1:${WS}\n[sip]\nudp_listen = 127.0.0.1:${SIPPORT}\ntcp_listen =\n` +
  `[webrtc]\nlocal_addresses = 127.0.0.1\nport_min = 29000\nport_max = 29499\n` +
  `[media]\nrtp_address = 127.0.0.1\nrtp_port_min = 29500\nrtp_port_max = 29599\n` +
  `[user:erin]\npassword = er1n-secret\n` +
  `[trunk:itsp]\nhost = 127.0.0.1\nport = ${TRUNKPORT}\ncodecs = pcmu\n` +
  `[route:out]\nmatch = ^0\\d+$\nstrip = 4\nprepend = trunk\ntarget = trunk:itsp\n`;

// The page: signalling over the JSON channel, media with RTCPeerConnection.
const pageSetup = () => {
  window.jn = { msgs: [] };
  jn.open = url => new Promise(res => {
    jn.ws = new WebSocket(url, 'junction');
    jn.ws.onmessage = async m => {
      const msg = JSON.parse(m.data);
      jn.msgs.push(msg);
      if (msg.type === 'answer') await jn.pc.setRemoteDescription({ type: 'answer', sdp: msg.sdp });
      if (msg.type === 'candidate' && msg.candidate) await jn.pc.addIceCandidate({ candidate: msg.candidate, sdpMid: msg.sdpMid });
    };
    jn.ws.onopen = () => res('open');
  });
  jn.send = o => jn.ws.send(JSON.stringify(o));
  jn.wait = (type, ms, state) => new Promise(res => {
    const t0 = Date.now();
    const tick = () => {
      const i = jn.msgs.findIndex(m => m.type === type && (!state || m.state === state));
      if (i >= 0) return res(jn.msgs.splice(i, 1)[0]);
      if (Date.now() - t0 > ms) return res(null);
      setTimeout(tick, 50);
    };
    tick();
  });
  jn.call = async to => {
    const pc = new RTCPeerConnection();
    jn.pc = pc;
    const mic = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false } });
    mic.getTracks().forEach(t => pc.addTrack(t, mic));
    pc.ontrack = e => { jn.remote = e.track; };
    pc.onicecandidate = e => jn.send({ type: 'candidate', candidate: e.candidate ? e.candidate.candidate : null,
                                       sdpMid: e.candidate ? e.candidate.sdpMid : null });
    await pc.setLocalDescription(await pc.createOffer());
    jn.send({ type: 'call', to, sdp: pc.localDescription.sdp }); // candidates trickle after
  };
  jn.capture = () => jnCapture(jn.remote);
};

let jn, bs, browser;
try {
  bs = startBaresip({ port: TRUNKPORT, ctrl: CTRL, rtp: '29600-29699', wav: toneWav('tone880.wav', 880, 60, 8000),
                      accounts: `<sip:trunk@127.0.0.1:${TRUNKPORT}>;regint=0;answermode=auto;audio_codecs=PCMU` });
  await sleep(500);
  const ctl = await baresipControl(CTRL);
  jn = await startJunction(conf, { httpPort: HTTP });
  browser = await launchBrowser({ audioFile: toneWav('tone440.wav', 440, 60) });
  const { page } = await openPage(browser, HTTP, pageSetup, { jssip: false });
  await page.evaluate(url => jn.open(url), WSURL);

  await page.evaluate(() => jn.send({ type: 'login', user: 'erin', password: 'wrong' }));
  const e1 = await page.evaluate(() => jn.wait('error', 3000));
  await page.evaluate(() => jn.send({ type: 'login', user: 'nobody', password: 'wrong' }));
  const e2 = await page.evaluate(() => jn.wait('error', 3000));
  ok(e1 && e2 && e1.code === 'bad_credentials' && e1.message === e2.message,
     `a wrong password and an unknown user get the same refusal (${JSON.stringify(e1)} / ${JSON.stringify(e2)})`);

  await page.evaluate(() => jn.send({ type: 'call', to: '0123', sdp: 'v=0\r\n' }));
  const e3 = await page.evaluate(() => jn.wait('error', 3000));
  ok(e3 && e3.code === 'not_logged_in', `a call before login is refused (${JSON.stringify(e3)})`);

  await page.evaluate(() => jn.send({ type: 'login', user: 'erin', password: 'er1n-secret' }));
  const li = await page.evaluate(() => jn.wait('login', 3000));
  ok(li && li.user === 'erin', `login as erin (${JSON.stringify(li)})`);

  await page.evaluate(() => jn.call('999'));
  const e4 = await page.evaluate(() => jn.wait('error', 3000));
  ok(e4 && e4.code === 'no_route', `a number with no route is refused (${JSON.stringify(e4)})`, junctionLog());
  await page.evaluate(() => { jn.pc.close(); });

  await page.evaluate(() => jn.call('0123'));
  const ans = await page.evaluate(() => jn.wait('answer', 8000));
  const st = await page.evaluate(() => jn.wait('state', 10000, 'answered'));
  ok(ans && st && st.state === 'answered', `the page gets our answer and then "answered" (${st && JSON.stringify(st)})`,
     junctionLog() + bs.log());
  const est = await waitFor(() => ctl.events.find(e => e.type === 'CALL_ESTABLISHED'), 5000);
  await sleep(1500);
  const w = await pageHears(page, () => jn.capture());
  ok(est && Math.abs(w.freq - 880) < 30 && w.rms > 0.02, `the page hears the trunk's 880 Hz (${w.freq} Hz, rms ${w.rms.toFixed(3)})`);

  await page.evaluate(() => jn.send({ type: 'dtmf', digit: '5' }));
  const key = await waitFor(() => (bs.log().match(/.*DTMF.*5.*/i) || [])[0] ||
    ctl.events.find(e => /DTMF/.test(e.type) && /5/.test(JSON.stringify(e))), 4000);
  ok(!!key, `a key from the page reaches baresip as RFC 4733 (${typeof key === 'string' ? key.trim() : JSON.stringify(key)})`,
     bs.log().slice(-2000) + JSON.stringify(ctl.events));

  await sleep(1000);
  await page.evaluate(() => jn.send({ type: 'hangup' }));
  const closed = await waitFor(() => ctl.events.find(e => e.type === 'CALL_CLOSED'), 5000);
  ok(!!closed, `hangup from the page ends baresip's call (${closed && closed.param})`, junctionLog());
  await sleep(800);
  const wb = analyseWav(decodedWav(bs.snd), 1);
  ok(wb && Math.abs(wb.freq - 440) < 30 && wb.rms > 0.02, `baresip heard the page's 440 Hz (${wb && wb.freq} Hz)`);

  await waitFor(() => cdrLines(CDR).some(x => x.target === 'trunk:itsp'), 5000);
  const recs = cdrLines(CDR);
  const r = recs.find(x => x.target === 'trunk:itsp');
  ok(r && r.caller === 'user:erin' && r.cause === 'normal' && r.media === 'transcode' && r.legs[0].kind === 'webrtc',
     'CDR: user:erin -> trunk:itsp, normal, transcode, leg a webrtc', JSON.stringify(recs));
  ok(!/ERROR|AddressSanitizer/.test(junctionLog()), 'no errors in junction\'s log', junctionLog().slice(-3000));
} catch (e) {
  ok(false, `test crashed: ${e.stack}`, junctionLog());
} finally {
  if (browser) await browser.close();
  if (bs) await bs.stop('SIGKILL');
  if (jn) await stopJunction(jn);
  done();
}
