// JsSIP in headless Chromium calls a number routed to a SIP trunk; the trunk
// is baresip (auto-answer, PCMU/PCMA only, plays an 880 Hz tone from an 8 kHz WAV through aufile (ausine is 48 kHz only), dumps what
// it hears as WAV through its sndfile module). Junction bridges the browser's
// Opus leg to the trunk's PCMU leg (transcode). Checks: the call is
// confirmed, the browser hears ~880 Hz, baresip heard ~440 Hz (the browser's
// tone), a hangup from the browser reaches baresip as BYE, and the CDR line
// says target trunk:itsp, media transcode. Then: BYE from the trunk, the
// trunk's 404 relayed, a trunk that rings 8 s (a second call meanwhile gets
// 503 from max_calls = 1), CANCEL while ringing, and a trunk (sipp) that
// challenges with 401 then answers 486. See docs/calls.md.
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { plan, ok, done, diag, WORK, startJunction, stopJunction, launchBrowser, junctionLog, toneWav, sleep, waitFor,
         decodedWav, analyseWav, baresipControl, pageHears, startBaresip, cdrLines, openPage,
         closeAll } from './lib.mjs';

plan(18);
const HTTP = 18580, WS = 18581, SIPPORT = 15560, TRUNKPORT = 15570, AUTHPORT = 15590, CTRL = 15589; // not 15571: baresip listens for SIP/TLS on sip_listen + 1
const WSURL = `ws://127.0.0.1:${WS}`;
const CDR = path.join(WORK, 'cdr.jsonl');
const conf = `[general]\ncdr_file = ${CDR}\n` +
  `[api]\nhttp_listen = 127.0.0.1:${HTTP}\n[websocket]\nlisten = 127.0.0.1:${WS}\n` +
  `[sip]\nudp_listen = 127.0.0.1:${SIPPORT}\nauth_algorithms = MD5\n` +
  `[webrtc]\nlocal_addresses = 127.0.0.1\nport_min = 25500\nport_max = 25999\n` +
  `[media]\nrtp_address = 127.0.0.1\nrtp_port_min = 26000\nrtp_port_max = 26099\n` +
  `[user:erin]\npassword = er1n-secret\n` +
  `[trunk:itsp]\nhost = 127.0.0.1\nport = ${TRUNKPORT}\ntransport = udp\ncodecs = pcmu\nmax_calls = 1\n` +
  // 0123 -> "trunk": baresip answers only its account's user part.
  `[route:out]\nmatch = ^0\\d+$\nstrip = 4\nprepend = trunk\ntarget = trunk:itsp\n` +
  // 1xxx reaches the trunk unchanged: baresip has no such account (404).
  `[route:bad]\nmatch = ^1\\d+$\ntarget = trunk:itsp\n` +
  // 2xxx -> "slow": an account that answers only when told (ctrl_tcp accept).
  `[trunk:auth]\nhost = 127.0.0.1\nport = ${AUTHPORT}\nusername = jn\npassword = jn-pass\ncodecs = pcmu\n` +
  `[route:auth]\nmatch = ^3\\d+$\ntarget = trunk:auth\n` +
  `[route:slow]\nmatch = ^2\\d+$\nstrip = 4\nprepend = slow\ntarget = trunk:itsp\n`;

const pageSetup = () => {
  window.jn = {};
  jn.start = async (ws, user, password) => { const r = await jnStartUA(ws, user, password); jn.ua = r.ua; return r.status; };
  jn.call = target => { const c = jnCall(jn.ua, target); jn.session = c.session; return c.result; };
  jn.capture = () => jnCapture(jnAudioTrack(jn.session.connection));
  jn.hangup = () => jnHangup(jn.session);
};

// sipp as a trunk that challenges (401), wants our Authorization, then says 486.
const AUTHXML = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="trunk auth">
  <recv request="INVITE" />
  <send><![CDATA[
SIP/2.0 401 Unauthorized
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
WWW-Authenticate: Digest realm="itsp", nonce="n0nce1", algorithm=MD5
Content-Length: 0

]]></send>
  <recv request="ACK" />
  <recv request="INVITE">
    <action><ereg regexp="Authorization: Digest username=.jn., realm=.itsp., nonce=.n0nce1." search_in="msg" check_it="true" assign_to="a"/></action>
  </recv>
  <send><![CDATA[
SIP/2.0 486 Busy Here
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag02[call_number]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
  <recv request="ACK" />
  <Reference variables="a" />
</scenario>
`;

const cdr = () => cdrLines(CDR);

let jn, browser, bs, ctl;
try {
  // baresip as the trunk.
  bs = startBaresip({ port: TRUNKPORT, ctrl: CTRL, rtp: '26100-26199', wav: toneWav('tone880.wav', 880, 60, 8000), modules: ['opus'],
    accounts: [`<sip:trunk@127.0.0.1:${TRUNKPORT}>;regint=0;answermode=auto;audio_codecs=PCMU,PCMA`,
               `<sip:slow@127.0.0.1:${TRUNKPORT}>;regint=0;answermode=manual;audio_codecs=PCMU,PCMA`] });
  await sleep(500);
  ctl = await baresipControl(CTRL);
  jn = await startJunction(conf, { httpPort: HTTP });
  browser = await launchBrowser({ audioFile: toneWav('tone440.wav', 440, 30) });
  const { page } = await openPage(browser, HTTP, pageSetup);
  const st = await page.evaluate(([ws]) => jn.start(ws, 'erin', 'er1n-secret'), [WSURL]);
  const res = await page.evaluate(() => jn.call('0123'));
  ok(st === 'ok' && res === 'confirmed', `the call to 0123 (trunk:itsp) is confirmed (${res})`, bs.log() + junctionLog());
  await sleep(3000);
  const ra = await pageHears(page, () => jn.capture());
  ok(Math.abs(ra.freq - 880) <= 15 && ra.rms > 0.01, `the browser hears the trunk's tone: peak ${ra.freq} Hz, rms ${ra.rms.toFixed(3)}`, ra);
  await sleep(1000);
  const blogBefore = bs.log().length;
  const hung = await page.evaluate(() => jn.hangup());
  ok(hung === 'ended Terminated', `the browser hangs up (${hung})`);
  // baresip 1.0 reports a BYE it received as "session closed: Connection reset by peer".
  const byeSeen = await waitFor(() => /session closed: Connection reset by peer/.test(bs.log().slice(blogBefore)), 3000);
  ok(byeSeen, 'baresip sees the call end (BYE from junction)', bs.log());
  diag('baresip: ' + bs.log().split('\n').filter(l => /closed|terminated|BYE/i.test(l)).join(' | '));
  await sleep(500);
  const dec = decodedWav(bs.snd);
  const wa = analyseWav(dec, 1.5), secs = dec ? dec.samples.length / dec.rate : 0;
  ok(dec && Math.abs(wa.freq - 440) <= 15 && wa.rms > 0.01, `baresip heard the browser's tone: peak ${wa.freq} Hz, rms ${wa.rms.toFixed(3)}, ${secs.toFixed(1)} s recorded`,
     { wavs: fs.readdirSync(bs.snd), wa });
  ok(await waitFor(() => cdr().length === 1, 3000), 'one CDR line', cdr());
  const c = cdr()[0] || {};
  ok(c.target === 'trunk:itsp' && c.number === 'trunk' && c.cause === 'normal' && c.media === 'transcode' &&
     c.legs && c.legs[1] && c.legs[1].kind === 'rtp' && c.legs[1].packets_received > 50 && c.legs[1].packets_sent > 50,
     `CDR: target ${c.target}, cause ${c.cause}, media ${c.media}`, c);

  // ---- the trunk hangs up: its BYE reaches the browser ----
  const r2 = await page.evaluate(() => { jn.ended = null; return jn.call('0123'); });
  await page.evaluate(() => jn.session.on('ended', e => { jn.ended = `${e.originator} ${e.cause}`; }));
  await sleep(1000);
  await ctl.command('hangup');
  let ended = null;
  for (let i = 0; i < 50 && !ended; i++) { await sleep(100); ended = await page.evaluate(() => jn.ended); }
  ok(r2 === 'confirmed' && ended === 'remote Terminated', `the trunk hangs up: the browser gets BYE (${r2}, ended: ${ended})`, bs.log());
  ok(await waitFor(() => cdr().length === 2, 3000) && cdr()[1].cause === 'normal' && cdr()[1].reason === 'callee hung up',
     'its CDR line: normal, callee hung up', cdr()[1]);

  // ---- the trunk refuses: its code reaches the browser ----
  const r3 = await page.evaluate(() => jn.call('1234'));
  ok(/^failed 404/.test(r3), `baresip's 404 for an unknown user goes back to the browser (${r3})`);
  ok(await waitFor(() => cdr().length === 3, 3000) && cdr()[2].sip_code === 404 && cdr()[2].cause === 'rejected',
     'its CDR line: rejected, 404', cdr()[2]);

  // ---- the trunk rings for 8 s: the browser leg (183 with our answer) stays up ----
  const pending = page.evaluate(() => jn.call('2000'));
  await sleep(2000);
  // [trunk:itsp] max_calls = 1: a second call while this one rings is refused.
  const busy = await page.evaluate(() => new Promise(res => {
    setTimeout(() => res('timeout'), 6000);
    jn.ua.call('sip:0123@127.0.0.1', { mediaConstraints: { audio: true, video: false }, pcConfig: { iceServers: [] },
      eventHandlers: { failed: e => res(`failed ${e.message && e.message.status_code}`), confirmed: () => res('confirmed') } });
  }));
  ok(busy === 'failed 503' && await waitFor(() => cdr().length === 4 && cdr()[3].sip_code === 503, 3000),
     `a second call beyond the trunk's max_calls = 1 gets 503 (${busy})`, cdr()[3]);
  await sleep(6000);
  await ctl.command('accept');
  const r4 = await pending;
  await sleep(1500);
  const heard = r4 === 'confirmed' ? await pageHears(page, () => jn.capture()) : { freq: 0, rms: 0 };
  ok(r4 === 'confirmed' && Math.abs(heard.freq - 880) <= 15 && heard.rms > 0.01,
     `answered after 8 s of ringing: confirmed, the browser hears ${heard.freq} Hz (${r4})`, junctionLog());
  const h4 = await page.evaluate(() => jn.hangup());
  ok(h4 === 'ended Terminated' && await waitFor(() => cdr().length === 5 && cdr()[4].media === 'transcode', 3000),
     'hung up; CDR transcode', cdr()[4]);

  // ---- the browser gives up while the trunk rings: CANCEL on both legs ----
  const blogC = bs.log().length;
  const pc = page.evaluate(() => jn.call('2001'));
  await sleep(2000);
  await page.evaluate(() => jn.session.terminate());
  const r5 = await pc;
  const cancelled = await waitFor(() => /session closed/.test(bs.log().slice(blogC)), 3000);
  ok(/Canceled$/.test(r5) && cancelled, `the browser cancels (${r5}): baresip's ringing call ends (CANCEL)`, bs.log().slice(blogC));
  ok(await waitFor(() => cdr().length === 6 && cdr()[5].cause === 'cancelled', 3000),
     'its CDR line: cancelled', cdr()[5]);

  // ---- a trunk that wants digest auth: 401 answered with its username/password ----
  fs.writeFileSync(path.join(WORK, 'trunk-auth.xml'), AUTHXML);
  const sipp = spawn('timeout', ['30', 'sipp', '-sf', path.join(WORK, 'trunk-auth.xml'), '-i', '127.0.0.1', '-p', String(AUTHPORT),
                                 '-m', '1', '-nostdin', '-timeout', '20s', '-trace_err', '-trace_msg'], { cwd: WORK, stdio: 'ignore' });
  const sippExit = new Promise(res => sipp.on('exit', code => res(code)));
  await sleep(500);
  const r6 = await page.evaluate(() => jn.call('3000'));
  const sc = await Promise.race([sippExit, sleep(5000).then(() => 'timeout')]);
  ok(/^failed 486/.test(r6) && sc === 0, `401 answered with the trunk's credentials; its 486 reaches the browser (${r6}, sipp exit ${sc})`,
     fs.readdirSync(WORK).filter(f => /sipp|trunk-auth/.test(f)).map(f => f + ':\n' + fs.readFileSync(path.join(WORK, f), 'utf8')).join('\n'));
  ok(await waitFor(() => cdr().length === 7 && cdr()[6].cause === 'busy' && cdr()[6].sip_code === 486 &&
                   cdr()[6].target === 'trunk:auth', 3000), 'its CDR line: busy, 486, target trunk:auth', cdr()[6]);
} catch (e) {
  ok(false, `unexpected error: ${e.stack || e.message}`, junctionLog());
} finally {
  await closeAll(browser, ctl, bs);
  const code = await stopJunction(jn);
  if (code !== 0) diag(`junction exited with ${code}\n${junctionLog()}`);
  done();
}
