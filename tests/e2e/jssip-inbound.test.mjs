// A call INTO the browser: baresip, acting as the trunk "pstn", dials the DID
// 5551234 at junction; [route:did] maps it to user:erin, who has two JsSIP UAs
// registered over WS in one Chromium page (two contacts, each with its own
// +sip.instance). Junction forks the call to both (parallel fork); UA 1
// answers after ~1 s, so junction CANCELs UA 2's branch. Checks: both UAs
// ring, UA 2's session fails with cause Canceled, baresip reaches
// CALL_ESTABLISHED, the browser hears baresip's 880 Hz (8 kHz WAV through
// aufile), baresip's sndfile recording holds the browser's 440 Hz, a hangup
// from baresip ends the JsSIP session, and the CDR line names caller
// trunk:pstn and target user:erin. Then: the trunk cancels while both ring
// (both branches CANCELled), the browser hangs up an answered call (BYE to
// the trunk), the trunk dials a number that is not its DID (refused), a
// caller that is no trunk (sipp from another port, no credentials) is
// challenged or refused and no browser rings, a call to the DID while
// erin has no registered contact gets 480, and a tab that answered closes
// mid-call (BYE to the trunk, CDR browser_gone).
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { plan, ok, done, diag, WORK, startJunction, stopJunction, launchBrowser, junctionLog, toneWav,
	 baresipControl, waitFor, sleep, openPage, pageHears, startBaresip, decodedWav, analyseWav, cdrLines, closeAll } from './lib.mjs';

plan(20);
const HTTP = 18680, WS = 18681, SIPPORT = 15660, TRUNKPORT = 15670, SIPPPORT = 15690, CTRL = 15689; // not 15671: baresip's SIP/TLS
const WSURL = `ws://127.0.0.1:${WS}`;
const CDR = path.join(WORK, 'cdr.jsonl');
const conf = `[general]\ncdr_file = ${CDR}\n` +
  `[api]\nhttp_listen = 127.0.0.1:${HTTP}\n[websocket]\nlisten = 127.0.0.1:${WS}\n` +
  `[sip]\nudp_listen = 127.0.0.1:${SIPPORT}\nauth_algorithms = MD5\n` +
  `[webrtc]\nlocal_addresses = 127.0.0.1\nport_min = 25500\nport_max = 25999\n` +
  `[media]\nrtp_address = 127.0.0.1\nrtp_port_min = 26000\nrtp_port_max = 26099\n` +
  `[user:erin]\npassword = er1n-secret\n` +
  `[trunk:pstn]\nhost = 127.0.0.1\nport = ${TRUNKPORT}\ntransport = udp\ncodecs = pcmu\n` +
  `[route:did]\nmatch = ^5551234$\nfrom = trunk:pstn\ntarget = user:erin\n`;

// In the page: several JsSIP UAs; every incoming session is recorded per UA.
const pageSetup = () => {
  window.jn = { uas: [], calls: [] };
  jn.register = async (ws, user, password) => {
    const idx = jn.uas.length;
    jn.uas.push(null);
    const r = await jnStartUA(ws, user, password, { register: true, on: {
      newRTCSession: e => {
        if (e.originator !== 'remote') return;
        const rec = { ua: idx, from: String(e.request.from.uri), state: 'ringing', session: e.session };
        jn.calls.push(rec);
        e.session.on('confirmed', () => { rec.state = 'confirmed'; });
        e.session.on('failed', ev => { rec.state = 'failed'; rec.cause = ev.cause; rec.originator = ev.originator; });
        e.session.on('ended', ev => { rec.state = 'ended'; rec.cause = ev.cause; rec.originator = ev.originator; });
      },
    } });
    jn.uas[idx] = r.ua;
    return r.status;
  };
  jn.unregister = () => Promise.all(jn.uas.map(ua => new Promise(res => {
    const t = setTimeout(() => res('timeout'), 5000);
    ua.on('unregistered', () => { clearTimeout(t); res('unregistered'); });
    ua.unregister();
  })));
  // A plain copy of the call records (sessions do not cross to node).
  jn.list = () => jn.calls.map(({ session, ...r }) => r);
  jn.answer = i => new Promise(res => {
    const rec = jn.calls[i];
    const t = setTimeout(() => res('timeout'), 10000);
    rec.session.on('confirmed', () => { clearTimeout(t); res('confirmed'); });
    rec.session.on('failed', e => { clearTimeout(t); res(`failed ${e.cause}`); });
    rec.session.answer(jnMedia);
  });
  jn.capture = i => jnCapture(jnAudioTrack(jn.calls[i].session.connection));
};

// sipp from a port that is no trunk's, without credentials: it must be
// challenged (407) or refused (403); it ACKs either and ends.
const STRANGERXML = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="stranger">
  <send retrans="500"><![CDATA[
INVITE sip:5551234@127.0.0.1:${SIPPORT} SIP/2.0
Via: SIP/2.0/UDP [local_ip]:[local_port];branch=[branch]
From: <sip:mallory@[local_ip]:[local_port]>;tag=[pid]stranger[call_number]
To: <sip:5551234@127.0.0.1:${SIPPORT}>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:mallory@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

v=0
o=- 1 1 IN IP4 [local_ip]
s=-
c=IN IP4 [local_ip]
t=0 0
m=audio [media_port] RTP/AVP 0
a=rtpmap:0 PCMU/8000

]]></send>
  <recv response="100" optional="true" />
  <recv response="180" optional="true" next="bad" />
  <recv response="183" optional="true" next="bad" />
  <recv response="403" optional="true" next="ack" />
  <recv response="407" next="ack" />
  <label id="ack" />
  <send><![CDATA[
ACK sip:5551234@127.0.0.1:${SIPPORT} SIP/2.0
Via: SIP/2.0/UDP [local_ip]:[local_port];branch=[branch]
From: <sip:mallory@[local_ip]:[local_port]>;tag=[pid]stranger[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0

]]></send>
  <nop next="end" />
  <label id="bad" />
  <nop><action><exec int_cmd="stop_now" /></action></nop>
  <label id="end" />
</scenario>
`;

const cdr = () => cdrLines(CDR);

let jn, browser, bs, ctl;
try {
  // baresip as the trunk: it places the calls (ctrl_tcp "dial").
  bs = startBaresip({ port: TRUNKPORT, ctrl: CTRL, rtp: '26100-26199', wav: toneWav('tone880.wav', 880, 60, 8000), modules: ['opus'],
                      accounts: `<sip:trunk@127.0.0.1:${TRUNKPORT}>;regint=0;answermode=manual;audio_codecs=PCMU,PCMA` });
  await sleep(500);
  ctl = await baresipControl(CTRL);
  jn = await startJunction(conf, { httpPort: HTTP });
  browser = await launchBrowser({ audioFile: toneWav('tone440.wav', 440, 60) });
  const { page, errors } = await openPage(browser, HTTP, pageSetup);
  const regs = [];
  for (let i = 0; i < 2; i++) regs.push(await page.evaluate(([ws]) => jn.register(ws, 'erin', 'er1n-secret'), [WSURL]));
  ok(regs.every(r => r === 'ok'), `two JsSIP UAs register as erin (${regs})`, junctionLog());
  const list = () => page.evaluate(() => jn.list());

  // ---- the DID rings both contacts; UA 1 answers, UA 2 is cancelled ----
  const dialled = `sip:5551234@127.0.0.1:${SIPPORT}`;
  await ctl.command('dial', dialled);
  let calls = [];
  await waitFor(async () => (calls = await list()).length >= 2, 10000);
  const ringing = await waitFor(() => ctl.events.some(e => e.type === 'CALL_RINGING'), 3000);
  ok(calls.length === 2 && calls[0].ua !== calls[1].ua && calls.every(c => /trunk@/.test(c.from)) && ringing,
     `both UAs get newRTCSession from the trunk (parallel fork), baresip hears ringing (${!!ringing}): ${JSON.stringify(calls)}`,
     bs.log() + junctionLog());
  let established = false, b1 = { state: 'none' };
  if (calls.length >= 1) {
    await sleep(1000);
    const first = calls.findIndex(c => c.ua === 0);
    const ans = await page.evaluate(i => jn.answer(i), first);
    established = await waitFor(() => ctl.events.some(e => e.type === 'CALL_ESTABLISHED'), 5000);
    ok(ans === 'confirmed' && established, `UA 1 answers (${ans}); baresip reaches CALL_ESTABLISHED (${established})`,
       JSON.stringify(ctl.events) + '\n' + junctionLog());
    const second = calls.findIndex(c => c.ua === 1);
    if (second >= 0) await waitFor(async () => (b1 = (await list())[second]).state !== 'ringing', 5000);
    ok(b1.state === 'failed' && b1.cause === 'Canceled', `UA 2's session fails with cause Canceled (${b1.state} ${b1.cause})`, b1);
  } else {
    ok(false, 'UA 1 answers; baresip reaches CALL_ESTABLISHED', JSON.stringify(ctl.events) + '\n' + junctionLog());
    ok(false, 'UA 2\'s session fails with cause Canceled');
  }

  // ---- audio both ways ----
  let ra = { freq: 0, rms: 0 };
  if (established) {
    await sleep(2500);
    const first = calls.findIndex(c => c.ua === 0);
    ra = await pageHears(page, i => jn.capture(i), first);
  }
  ok(Math.abs(ra.freq - 880) <= 15 && ra.rms > 0.01, `the browser hears the trunk's tone: peak ${ra.freq} Hz, rms ${ra.rms.toFixed(3)}`, ra);

  // ---- baresip hangs up: BYE reaches the browser ----
  await ctl.command('hangup');
  let s0 = {};
  await waitFor(async () => { s0 = (await list()).find(c => c.ua === 0) || {}; return s0.state === 'ended'; }, 5000);
  ok(s0.state === 'ended' && s0.originator === 'remote' && s0.cause === 'Terminated',
     `the trunk hangs up: JsSIP's session ends (${s0.state} ${s0.originator} ${s0.cause})`, junctionLog());
  await sleep(500);
  const dec = decodedWav(bs.snd);
  const wa = analyseWav(dec, 1.5), secs = dec ? dec.samples.length / dec.rate : 0;
  ok(dec && Math.abs(wa.freq - 440) <= 15 && wa.rms > 0.01,
     `baresip heard the browser's tone: peak ${wa.freq} Hz, rms ${wa.rms.toFixed(3)}, ${secs.toFixed(1)} s recorded`, { files: fs.readdirSync(bs.snd), wa });
  await waitFor(() => cdr().length >= 1, 3000);
  const c = cdr()[0] || {};
  ok(c.caller === 'trunk:pstn' && c.target === 'user:erin' && c.route === 'did' && c.cause === 'normal' && c.answer &&
     c.reason === 'caller hung up' && c.media === 'transcode' && c.legs && c.legs[1] && c.legs[1].kind === 'webrtc' &&
     c.legs[1].packets_received > 50 && c.legs[0].packets_received > 50,
     `CDR: caller ${c.caller}, target ${c.target}, cause ${c.cause} (${c.reason}), media ${c.media}`, c);

  // ---- the trunk gives up while both contacts ring: both branches CANCELled ----
  const n0 = (await list()).length;
  await ctl.command('dial', dialled);
  await waitFor(async () => (await list()).length >= n0 + 2, 10000);
  await sleep(500);
  await ctl.command('hangup');
  let pair = [];
  await waitFor(async () => (pair = (await list()).slice(n0)).length === 2 && pair.every(c => c.state !== 'ringing'), 5000);
  ok(pair.length === 2 && pair.every(c => c.state === 'failed' && c.cause === 'Canceled'),
     `the trunk cancels while both contacts ring: both sessions fail Canceled (${pair.map(c => `${c.state} ${c.cause}`)})`, junctionLog());
  ok(await waitFor(() => cdr().length >= 2 && cdr()[1].cause === 'cancelled' && cdr()[1].target === 'user:erin', 3000),
     'its CDR line: cancelled, target user:erin', cdr()[1]);

  // ---- the browser hangs up an answered call: BYE to the trunk ----
  const n1 = (await list()).length, ev1 = ctl.events.length;
  await ctl.command('dial', dialled);
  await waitFor(async () => (await list()).length >= n1 + 2, 10000);
  const mine = (await list()).findIndex((c, i) => i >= n1 && c.ua === 1);
  const a2 = mine >= 0 ? await page.evaluate(i => jn.answer(i), mine) : 'no session';
  await waitFor(() => ctl.events.slice(ev1).some(e => e.type === 'CALL_ESTABLISHED'), 5000);
  await sleep(1000);
  if (mine >= 0) await page.evaluate(i => jn.calls[i].session.terminate(), mine);
  const closed2 = await waitFor(() => ctl.events.slice(ev1).find(e => e.type === 'CALL_CLOSED'), 5000);
  ok(a2 === 'confirmed' && closed2, `UA 2 answers this time (${a2}) and hangs up: baresip's call closes (${closed2 && closed2.param})`,
     JSON.stringify(ctl.events.slice(ev1)) + '\n' + junctionLog());
  ok(await waitFor(() => cdr().length >= 3 && cdr()[2].cause === 'normal' && cdr()[2].reason === 'callee hung up', 3000),
     'its CDR line: normal, callee hung up', cdr()[2]);

  // ---- the trunk dials a number no route gives it: refused, nobody rings ----
  const n2 = (await list()).length, ev2 = ctl.events.length;
  await ctl.command('dial', `sip:5559999@127.0.0.1:${SIPPORT}`);
  const closed3 = await waitFor(() => ctl.events.slice(ev2).find(e => e.type === 'CALL_CLOSED'), 10000);
  ok(closed3 && /40[34]/.test(closed3.param) && (await list()).length === n2,
     `a number that is not the trunk's DID is refused (${closed3 && closed3.param}), no browser rings`, junctionLog());

  // ---- a caller that is no trunk: challenged or refused, no browser rings ----
  const before = (await list()).length;
  fs.writeFileSync(path.join(WORK, 'stranger.xml'), STRANGERXML);
  const sipp = spawn('timeout', ['30', 'sipp', '127.0.0.1:' + SIPPORT, '-sf', path.join(WORK, 'stranger.xml'), '-i', '127.0.0.1',
                                 '-p', String(SIPPPORT), '-m', '1', '-nostdin', '-timeout', '15s', '-trace_msg', '-trace_err'],
                     { cwd: WORK, stdio: 'ignore' });
  const sc = await new Promise(res => sipp.on('exit', code => res(code)));
  const msgs = fs.readdirSync(WORK).filter(f => /stranger.*messages/.test(f)).map(f => fs.readFileSync(path.join(WORK, f), 'utf8')).join('\n');
  const codes = [...msgs.matchAll(/^SIP\/2\.0 (\d+)/gm)].map(m => Number(m[1]));
  await sleep(1000);
  const after = (await list()).length;
  ok(sc === 0 && codes.some(x => x === 407 || x === 403) && !codes.some(x => x === 180 || x === 183 || x === 200) && after === before,
     `a caller from a port that is no trunk's gets ${codes.join(',')} (sipp exit ${sc}); no browser rings (${after - before} new sessions)`, msgs);

  // ---- erin has no registered contact: 480 ----
  const un = await page.evaluate(() => jn.unregister());
  ok(un.every(u => u === 'unregistered'), `both UAs un-register (${un})`);
  const evBefore = ctl.events.length;
  await ctl.command('dial', dialled);
  let closed = null;
  await waitFor(() => (closed = ctl.events.slice(evBefore).find(e => e.type === 'CALL_CLOSED')), 10000);
  ok(closed && /480/.test(closed.param), `the DID with no contact: baresip's call is closed with ${closed && closed.param}`,
     JSON.stringify(ctl.events.slice(evBefore)) + '\n' + junctionLog());
  ok((await list()).length === after, 'no browser session for it');
  diag('CDR: ' + JSON.stringify(cdr().slice(3).map(l => [l.caller, l.target, l.cause, l.sip_code, l.reason])));
  ok(errors.length === 0, 'no script errors on the page', errors.join('\n'));

  // ---- the answering browser's tab closes mid-call: BYE to the trunk ----
  const { page: tab } = await openPage(browser, HTTP, pageSetup);
  const r3 = await tab.evaluate(([ws]) => jn.register(ws, 'erin', 'er1n-secret'), [WSURL]);
  const ev4 = ctl.events.length, nCdr = cdr().length;
  await ctl.command('dial', dialled);
  await waitFor(() => tab.evaluate(() => jn.calls.length === 1), 10000);
  const a4 = await tab.evaluate(() => (jn.calls.length ? jn.answer(0) : 'no call'));
  await waitFor(() => ctl.events.slice(ev4).some(e => e.type === 'CALL_ESTABLISHED'), 5000);
  await sleep(1000);
  await tab.close();
  const gone = await waitFor(() => ctl.events.slice(ev4).find(e => e.type === 'CALL_CLOSED'), 40000);
  ok(r3 === 'ok' && a4 === 'confirmed' && gone, `a tab that answered (${r3}, ${a4}) closes: baresip's call ends (${gone && gone.param})`,
     JSON.stringify(ctl.events.slice(ev4)) + '\n' + junctionLog());
  const lg = await waitFor(() => cdr().length > nCdr && cdr()[nCdr], 3000);
  ok(lg && lg.cause === 'browser_gone' && lg.target === 'user:erin', `its CDR line: ${lg && lg.cause} (${lg && lg.reason})`, lg);
} catch (e) {
  ok(false, `unexpected error: ${e.stack || e.message}`, junctionLog());
} finally {
  await closeAll(browser, ctl, bs);
  const code = await stopJunction(jn);
  if (code !== 0) diag(`junction exited with ${code}\n${junctionLog()}`);
  done();
}
