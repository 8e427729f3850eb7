// In-call features of a browser -> trunk call (issue #6, "Call flows" and
// "Tests"): JsSIP in headless Chromium (user erin, 440 Hz fake microphone)
// calls baresip acting as the trunk (PCMU, plays 880 Hz from an 8 kHz WAV
// through aufile, records through sndfile, SIP trace on with -s, driven by
// ctrl_tcp). Checks:
//  a. DTMF browser -> trunk: JsSIP's sendDTMF (SIP INFO, answered 200)
//     reaches baresip as RFC 4733 (its ctrl_tcp event CALL_DTMF_START; baresip
//     logs only INFO digits, and got no INFO).
//  b. DTMF trunk -> browser: baresip's sndcode (RFC 4733) reaches JsSIP as
//     SIP INFO (newDTMF, originator remote, the same tone).
//  c. Hold from the browser: baresip gets a re-INVITE with a=sendonly, the
//     browser hears nothing; unhold: baresip gets a=sendrecv, 880 Hz again
//     within ~2 s; no SRTP errors (every packet the browser sent was
//     authenticated by junction and vice versa: getStats vs the CDR).
//  d. Hold from the trunk (baresip "hold"): JsSIP gets a re-INVITE (its
//     'hold' event, originator remote); resume: 'unhold'.
//  e. Codecs: the default (Opus) call is transcoded (CDR media transcode); a
//     call whose offer carries only PCMU (munged in JsSIP's 'sdp' event) is
//     relayed (CDR media relay, codec pcmu both legs) with audio both ways.
//  f. A trunk that never answers ([sip] ring_timeout = 5): the browser's
//     call fails with 480 after ~5 s, CDR no_answer; baresip's call ends.
//  g. The browser tab closed mid-call: baresip gets BYE within 40 s; CDR
//     cause browser_gone. The same when only the media goes (the page
//     closes its RTCPeerConnection, its WebSocket stays): BYE both ways.
import fs from 'node:fs';
import path from 'node:path';
import { plan, ok, done, diag, WORK, startJunction, stopJunction, launchBrowser, junctionLog, toneWav, readWav,
         baresipControl, waitFor, sleep, pageHears, startBaresip, analyseWav, cdrLines, openPage,
         closeAll } from './lib.mjs';

plan(25);
// Ports of this test only: 19xxx signalling, 27xxx media.
const HTTP = 19080, WS = 19081, SIPPORT = 19060, TRUNKPORT = 19070, CTRL = 19089; // not 19071: baresip's SIP/TLS
const WSURL = `ws://127.0.0.1:${WS}`;
const CDR = path.join(WORK, 'cdr.jsonl');
const conf = `[general]\ncdr_file = ${CDR}\n` +
  `[api]\nhttp_listen = 127.0.0.1:${HTTP}\n[websocket]\nlisten = 127.0.0.1:${WS}\n` +
  `[sip]\nudp_listen = 127.0.0.1:${SIPPORT}\nauth_algorithms = MD5\nring_timeout = 5\n` +
  `[webrtc]\nlocal_addresses = 127.0.0.1\nport_min = 27000\nport_max = 27499\n` +
  `[media]\nrtp_address = 127.0.0.1\nrtp_port_min = 27500\nrtp_port_max = 27599\n` +
  `[user:erin]\npassword = er1n-secret\n` +
  `[trunk:itsp]\nhost = 127.0.0.1\nport = ${TRUNKPORT}\ntransport = udp\ncodecs = pcmu\n` +
  // 0123 -> "trunk" (baresip answers only its accounts' user parts).
  `[route:out]\nmatch = ^0\\d+$\nstrip = 4\nprepend = trunk\ntarget = trunk:itsp\n` +
  // 2xxx -> "slow": an account nobody answers.
  `[route:slow]\nmatch = ^2\\d+$\nstrip = 4\nprepend = slow\ntarget = trunk:itsp\n`;

const pageSetup = () => {
  window.jn = {};
  jn.start = async (ws, user, password) => { const r = await jnStartUA(ws, user, password); jn.ua = r.ua; return r.status; };
  // Keeps only PCMU (and telephone-event) in an offer's audio line.
  const pcmuOnly = sdp => {
    const lines = sdp.split('\r\n');
    const te = lines.map(l => /^a=rtpmap:(\d+) telephone-event\/8000/.exec(l)).find(Boolean);
    const keep = new Set(['0', ...(te ? [te[1]] : [])]);
    return lines.filter(l => { const m = /^a=(rtpmap|fmtp|rtcp-fb):(\d+)/.exec(l); return !m || keep.has(m[2]); })
      .map(l => (l.startsWith('m=audio') ? l.split(' ').slice(0, 3).concat([...keep]).join(' ') : l)).join('\r\n');
  };
  jn.call = (target, { pcmu = false } = {}) => {
    jn.t0 = Date.now();
    jn.dtmf = []; jn.holds = []; jn.answers = []; jn.ended = null; jn.sentSdp = null; jn.answerSdp = null;
    const c = jnCall(jn.ua, target, { timeout: 20000, on: {
      sdp: e => {
        if (e.originator === 'local' && e.type === 'offer' && pcmu) e.sdp = pcmuOnly(e.sdp);
        if (e.originator === 'local' && e.type === 'offer') jn.sentSdp = e.sdp;
        if (e.originator === 'remote' && e.type === 'answer') { jn.answerSdp = e.sdp; jn.answers.push(e.sdp); }
      },
      newDTMF: e => {
        jn.dtmf.push({ originator: e.originator, tone: e.dtmf.tone });
        if (e.originator === 'local') {
          e.dtmf.on('succeeded', ev => { jn.dtmfResp = ev.response.status_code; });
          e.dtmf.on('failed', ev => { jn.dtmfResp = `failed ${ev.cause || ''} ${ev.response ? ev.response.status_code + ' ' + ev.response.reason_phrase : ''}`; });
        }
      },
      hold: e => jn.holds.push(`hold ${e.originator}`),
      unhold: e => jn.holds.push(`unhold ${e.originator}`),
      failed: () => { jn.failedAfter = Date.now() - jn.t0; },
      ended: e => { jn.ended = `${e.originator} ${e.cause}`; },
    } });
    jn.session = c.session;
    return c.result;
  };
  // One second of the received audio (after 200 ms to settle).
  jn.capture = () => jnCapture(jnAudioTrack(jn.session.connection));
  // The browser's RTP counters: packets it sent, and those it received
  // (after SRTP: a packet that does not decrypt is not counted).
  jn.counters = () => jnRtpStats(jn.session.connection);
  jn.received = async () => (await jn.counters()).received;
  jn.hangup = () => jnHangup(jn.session);
};

const cdr = () => cdrLines(CDR);
// Directions of the INVITEs junction sent baresip since offset `from` of its
// log (its -s trace prints "UDP <from> -> <to>" above each message).
const invitesToTrunk = (log, from) => [...log.slice(from).matchAll(
  new RegExp(`UDP 127\\.0\\.0\\.1:${SIPPORT} -> 127\\.0\\.0\\.1:${TRUNKPORT}\\r?\\n(INVITE [\\s\\S]*?)(?:\\x1b\\[;m|$)`, 'g'))]
  .map(m => (m[1].match(/^a=(sendrecv|sendonly|recvonly|inactive)/m) || [, 'sendrecv'])[1]);
const wavsNow = () => new Set(fs.readdirSync(bs.snd).filter(f => /dec.*\.wav$/.test(f)));

let jn, browser, bs, ctl;
try {
  // baresip as the trunk; -s: SIP trace in its log.
  bs = startBaresip({ port: TRUNKPORT, ctrl: CTRL, rtp: '27600-27699', wav: toneWav('tone880.wav', 880, 120, 8000), modules: ['opus'],
    args: ['-s'], accounts: [`<sip:trunk@127.0.0.1:${TRUNKPORT}>;regint=0;answermode=auto;audio_codecs=PCMU,PCMA`,
                             `<sip:slow@127.0.0.1:${TRUNKPORT}>;regint=0;answermode=manual;audio_codecs=PCMU,PCMA`] });
  await sleep(500);
  ctl = await baresipControl(CTRL);
  jn = await startJunction(conf, { httpPort: HTTP });
  browser = await launchBrowser({ audioFile: toneWav('tone440.wav', 440, 120) });
  const { page, errors } = await openPage(browser, HTTP, pageSetup);
  const st = await page.evaluate(([ws]) => jn.start(ws, 'erin', 'er1n-secret'), [WSURL]);
  const capture = () => pageHears(page, () => jn.capture());

  // ---- the default call (Opus in the browser, PCMU to the trunk) ----
  const res = await page.evaluate(() => jn.call('0123'));
  const est = await waitFor(() => ctl.events.some(e => e.type === 'CALL_ESTABLISHED'), 5000);
  ok(st === 'ok' && res === 'confirmed' && est, `the call to 0123 (trunk:itsp) is confirmed (${res}, baresip established ${est})`,
     bs.log().slice(-3000) + junctionLog());
  await sleep(1500);

  // a. DTMF browser -> trunk: INFO in, RFC 4733 out.
  let evFrom = ctl.events.length, logFrom = bs.log().length;
  await page.evaluate(() => jn.session.sendDTMF('5', { duration: 200 }));
  const key = await waitFor(() => ctl.events.slice(evFrom).find(e => e.type === 'CALL_DTMF_START'), 4000);
  const infoResp = await page.evaluate(() => jn.dtmfResp);
  ok(key && key.param === '5' && infoResp === 200,
     `DTMF browser -> trunk: JsSIP's INFO '5' (answered ${infoResp}) reaches baresip as RFC 4733 (event ${key && key.type} ${key && key.param})`,
     JSON.stringify(ctl.events.slice(evFrom)) + '\n' + junctionLog());
  ok(!/INFO sip:/.test(bs.log().slice(logFrom)), 'baresip got no SIP INFO for it (the trunk wants RFC 4733)', bs.log().slice(logFrom));

  // b. DTMF trunk -> browser: RFC 4733 in, INFO out.
  await ctl.command('sndcode', '7');
  const remoteKeys = () => page.evaluate(() => jn.dtmf.filter(d => d.originator === 'remote'));
  await waitFor(async () => (await remoteKeys()).length > 0, 4000);
  await sleep(500); // a second INFO for the same key would show by now
  const got = await remoteKeys();
  ok(got.length === 1 && got[0].tone === '7',
     `DTMF trunk -> browser: baresip's RFC 4733 '7' fires JsSIP's newDTMF once (${JSON.stringify(got)})`, junctionLog());

  // c. Hold from the browser.
  const heard0 = await capture();
  logFrom = bs.log().length;
  const nHold = await page.evaluate(() => jn.answers.length);
  await page.evaluate(() => jn.session.hold());
  const sendonly = await waitFor(() => invitesToTrunk(bs.log(), logFrom).includes('sendonly'), 4000);
  // Chromium refuses a sendrecv answer to its sendonly offer: junction must say recvonly.
  const dirOf = sdp => (sdp === 'none' ? 'no answer' : ((sdp || '').match(/^a=(sendrecv|sendonly|recvonly|inactive)/m) || [, 'sendrecv'])[1]);
  const holdAns = await waitFor(() => page.evaluate(n => jn.answers.length > n, nHold), 3000) &&
    dirOf(await page.evaluate(() => jn.answers[jn.answers.length - 1]));
  ok(sendonly && holdAns === 'recvonly', `browser hold: junction answers ${holdAns}; baresip gets a re-INVITE with a=sendonly (${sendonly})`,
     bs.log().slice(logFrom) + junctionLog());
  const held = await waitFor(() => page.evaluate(() => jn.session.isOnHold().local), 3000);
  await sleep(1000);
  const r0 = await page.evaluate(() => jn.received());
  const silent = await capture();
  const r1 = await page.evaluate(() => jn.received());
  // recvonly toward the browser: junction sends it nothing (rtc_pc holds its RTP).
  ok(held && silent.rms < 0.005 && r1 - r0 <= 2, `... the browser is on hold and hears nothing: rms ${silent.rms.toFixed(4)} ` +
     `(before: ${heard0.freq} Hz rms ${heard0.rms.toFixed(3)}; ${r1 - r0} packets received meanwhile)`, silent);
  logFrom = bs.log().length;
  const nAns = await page.evaluate(() => jn.answers.length);
  await page.evaluate(() => jn.session.unhold());
  const sendrecv = await waitFor(() => invitesToTrunk(bs.log(), logFrom).includes('sendrecv'), 4000);
  await sleep(2000);
  const unholdAns = dirOf(await page.evaluate(n => (jn.answers.length > n ? jn.answers[jn.answers.length - 1] : 'none'), nAns));
  const back = await capture();
  ok(sendrecv && unholdAns === 'sendrecv' && Math.abs(back.freq - 880) <= 15 && back.rms > 0.01,
     `unhold: junction answers ${unholdAns}, baresip gets a=sendrecv (${sendrecv}); 880 Hz heard again within 2 s: ${back.freq} Hz, rms ${back.rms.toFixed(3)}`,
     bs.log().slice(logFrom) + junctionLog());
  // d. Hold from the trunk: needs a re-offer toward the browser.
  logFrom = bs.log().length;
  await ctl.command('hold');
  const rhold = await waitFor(() => page.evaluate(() => jn.holds.includes('hold remote')), 5000);
  ok(rhold, `trunk hold: JsSIP gets a re-INVITE and fires 'hold' (remote) (${JSON.stringify(await page.evaluate(() => jn.holds))})`,
     bs.log().slice(logFrom) + junctionLog());
  logFrom = bs.log().length;
  await ctl.command('resume');
  const runhold = await waitFor(() => page.evaluate(() => jn.holds.includes('unhold remote')), 5000);
  await sleep(2000);
  const back2 = await capture();
  ok(runhold && Math.abs(back2.freq - 880) <= 15 && back2.rms > 0.01,
     `trunk resume: JsSIP fires 'unhold' (remote) (${runhold}); 880 Hz heard: ${back2.freq} Hz, rms ${back2.rms.toFixed(3)}`,
     bs.log().slice(logFrom, logFrom + 4000) + '\n' + junctionLog());
  const still = await page.evaluate(() => jn.ended);
  ok(still === null, `the call survives both holds (ended: ${still})`, junctionLog());

  // e (1). The default call is transcoded.
  const bc = await page.evaluate(() => jn.counters());
  const h1 = await page.evaluate(() => jn.hangup());
  await waitFor(() => cdr().length >= 1, 3000);
  const c1 = cdr()[0] || {};
  // No SRTP errors across the holds, either way: every packet the browser
  // sent was authenticated by junction (its count is of packets that
  // decrypted), and the browser decrypted what junction sent (the record
  // counts a few more: it closes after our snapshot).
  const la = (c1.legs && c1.legs[0]) || {};
  ok(la.packets_received >= bc.sent * 0.98 - 5 && bc.received >= la.packets_sent * 0.98 - 60 && bc.received > 200,
     `no SRTP losses across the holds: browser sent ${bc.sent}, junction authenticated ${la.packets_received}; ` +
     `junction sent ${la.packets_sent}, the browser decrypted ${bc.received}`, { bc, la });
  ok(h1 === 'ended Terminated' && c1.cause === 'normal' && c1.media === 'transcode' && c1.legs &&
     /opus/i.test(c1.legs[0] && c1.legs[0].codec) && /pcmu/i.test(c1.legs[1] && c1.legs[1].codec),
     `Opus call hung up; CDR media ${c1.media}, codecs ${c1.legs && c1.legs.map(l => l && l.codec)}`, c1);

  // ---- e (2). A PCMU-only offer: relayed ----
  const wavs0 = wavsNow();
  const evE = ctl.events.length;
  const res2 = await page.evaluate(() => jn.call('0124', { pcmu: true }));
  const sent = await page.evaluate(() => jn.sentSdp || '');
  const ans = await page.evaluate(() => jn.answerSdp || '');
  const mline = (sent.match(/^m=audio.*$/m) || [''])[0], amline = (ans.match(/^m=audio.*$/m) || [''])[0];
  ok(res2 === 'confirmed' && / 0( \d+)?$/.test(mline) && /SAVPF 0( |$)/.test(amline),
     `PCMU-only offer (${mline.trim()}) confirmed; junction answers ${amline.trim()} (${res2})`, ans + junctionLog());
  await waitFor(() => ctl.events.slice(evE).some(e => e.type === 'CALL_ESTABLISHED'), 3000);
  await sleep(2500);
  const pa = await capture();
  ok(Math.abs(pa.freq - 880) <= 15 && pa.rms > 0.01, `... the browser hears the trunk's 880 Hz: ${pa.freq} Hz, rms ${pa.rms.toFixed(3)}`, pa);
  const h2 = await page.evaluate(() => jn.hangup());
  await sleep(500);
  const dec = [...wavsNow()].find(f => !wavs0.has(f));
  let wa = { freq: 0, rms: 0 }, secs = 0;
  if (dec) {
    const w = readWav(path.join(bs.snd, dec));
    secs = w.samples.length / w.rate;
    wa = analyseWav(w, 1.5);
  }
  ok(dec && Math.abs(wa.freq - 440) <= 15 && wa.rms > 0.01,
     `... baresip hears the browser's 440 Hz: ${wa.freq} Hz, rms ${wa.rms.toFixed(3)}, ${secs.toFixed(1)} s recorded (${dec})`, wa);
  await waitFor(() => cdr().length >= 2, 3000);
  const c2 = cdr()[1] || {};
  ok(h2 === 'ended Terminated' && c2.cause === 'normal' && c2.media === 'relay' && c2.legs &&
     c2.legs.every(l => l && /pcmu/i.test(l.codec) && l.packets_received > 50 && l.packets_sent > 50),
     `CDR media ${c2.media}, codecs ${c2.legs && c2.legs.map(l => l && l.codec)}`, c2);

  // ---- f. A trunk that never answers: 480 after ring_timeout = 5 ----
  const evF = ctl.events.length;
  const res3 = await page.evaluate(() => jn.call('2000'));
  const after = await page.evaluate(() => jn.failedAfter);
  const rang = ctl.events.slice(evF).some(e => e.type === 'CALL_INCOMING');
  ok(/^failed 480/.test(res3) && after >= 4500 && after <= 8000 && rang,
     `no answer: the browser's call fails with 480 after ${after} ms (${res3}; baresip rang: ${rang})`, junctionLog());
  const closedF = await waitFor(() => ctl.events.slice(evF).some(e => e.type === 'CALL_CLOSED'), 3000);
  await waitFor(() => cdr().length >= 3, 3000);
  const c3 = cdr()[2] || {};
  ok(closedF && c3.cause === 'no_answer' && c3.sip_code === 480,
     `... baresip's ringing call ends (${closedF}); CDR ${c3.cause} ${c3.sip_code}`, c3);

  // ---- g. The browser tab closes mid-call ----
  const { page: page2 } = await openPage(browser, HTTP, pageSetup);
  await page2.evaluate(([ws]) => jn.start(ws, 'erin', 'er1n-secret'), [WSURL]);
  const evG = ctl.events.length;
  const res4 = await page2.evaluate(() => jn.call('0125'));
  const estG = await waitFor(() => ctl.events.slice(evG).some(e => e.type === 'CALL_ESTABLISHED'), 3000);
  await sleep(1000);
  const closedAt = Date.now();
  await page2.close();
  const gone = await waitFor(() => ctl.events.slice(evG).find(e => e.type === 'CALL_CLOSED'), 40000);
  const took = Date.now() - closedAt;
  ok(res4 === 'confirmed' && estG && gone && took <= 40000,
     `tab closed mid-call: baresip's call ends after ${took} ms (${gone && gone.param})`, bs.log().slice(-2000) + junctionLog());
  await waitFor(() => cdr().length >= 4, 3000);
  const c4 = cdr()[3] || {};
  ok(c4.cause === 'browser_gone', `... CDR cause ${c4.cause} (${c4.reason})`, c4);

  // ---- g2. The media goes (the page closes its peer connection) while the WS stays ----
  const evH = ctl.events.length;
  const res5 = await page.evaluate(() => jn.call('0126'));
  const estH = await waitFor(() => ctl.events.slice(evH).some(e => e.type === 'CALL_ESTABLISHED'), 3000);
  await sleep(1000);
  const goneAt = Date.now();
  await page.evaluate(() => jn.session.connection.close());
  const goneH = await waitFor(() => ctl.events.slice(evH).find(e => e.type === 'CALL_CLOSED'), 40000);
  const tookH = Date.now() - goneAt;
  ok(res5 === 'confirmed' && estH && goneH && tookH <= 40000,
     `media gone, WS still up: baresip's call ends after ${tookH} ms (${goneH && goneH.param})`, junctionLog());
  const endedH = await waitFor(() => page.evaluate(() => jn.ended), 5000);
  ok(/^remote /.test(endedH || ''), `... and the browser gets junction's BYE (ended: ${endedH})`, junctionLog());
  await waitFor(() => cdr().length >= 5, 3000);
  const c5 = cdr()[4] || {};
  ok(c5.cause === 'browser_gone', `... CDR cause ${c5.cause} (${c5.reason})`, c5);
  ok(errors.length === 0, 'no script errors on the page', errors.join('\n'));
  diag('CDR: ' + JSON.stringify(cdr()));
} catch (e) {
  ok(false, `unexpected error: ${e.stack || e.message}`, junctionLog());
} finally {
  await closeAll(browser, ctl, bs);
  const code = await stopJunction(jn);
  ok(code === 0, `junction exits 0 (${code})`, junctionLog());
  done();
}
