// Blind transfer through junction (issue #6, server/call_xfer.c), with JsSIP
// in headless Chromium (erin, 440 Hz) and two auto-answering baresips:
// "trunk" (trunk:itsp, 880 Hz) and "second" (trunk:two, 660 Hz).
// 1. erin calls 0123 (baresip 1) and transfers it: session.refer('3000').
//    Junction answers 202, calls baresip 2 itself, reports progress with
//    NOTIFY sipfrag (100, then 200) and BYEs the browser. Checks: JsSIP's
//    refer events in order, erin's session ended by the remote's BYE,
//    baresip 2 established, baresip 1's recording has 440 Hz then 660 Hz
//    (and baresip 2 heard 880 Hz), baresip 1's hangup reaches baresip 2, the
//    CDR line, and that baresip 1 played all junction sent it (the stream
//    must go on across the transfer).
// 2. The trunk transfers erin: baresip 1 REFERs the call to 4000 (its ctrl
//    "transfer"). Checks: baresip 2 answers, baresip 1's call ends, erin's
//    session stays up and she hears 660 Hz, her hangup reaches baresip 2,
//    which heard her 440 Hz, and the CDR line.
// 3. The trunk transfers erin to a user: bob (a second JsSIP UA, registered
//    in the same page, auto-answering). Checks: bob's session confirmed,
//    baresip 1's call ends, bob hears erin's 440 Hz, erin's hangup ends
//    bob's session, the CDR line.
// 4. Attended transfer: erin calls both baresips and refers the first to
//    the second with Replaces naming her second call. Checks: JsSIP's refer
//    events, both her sessions ended by junction, the baresips joined (a
//    hangup passes, each hears the other's tone to the end), the CDR lines
//    (her second call "transferred", the first normal, both saying so).
//    (tests/e2e/jssip-attended.test.mjs covers it from an inbound call.)
import fs from 'node:fs';
import path from 'node:path';
import { plan, ok, done, diag, WORK, startJunction, stopJunction, launchBrowser, junctionLog, toneWav, analyse,
         baresipControl, waitFor, sleep, pageHears, startBaresip, decodedWav, analyseWav, cdrLines, openPage,
         closeAll } from './lib.mjs';

plan(25);
// baresip also listens for SIP/TLS on sip_listen + 1: keep those free.
const HTTP = 18990, WS = 18991, SIPPORT = 15980, PORT1 = 15990, CTRL1 = 15989, PORT2 = 15994, CTRL2 = 15993;
const WSURL = `ws://127.0.0.1:${WS}`;
const CDR = path.join(WORK, 'cdr.jsonl');
const conf = `[general]\ncdr_file = ${CDR}\n` +
  `[api]\nhttp_listen = 127.0.0.1:${HTTP}\n[websocket]\nlisten = 127.0.0.1:${WS}\n` +
  `[sip]\nudp_listen = 127.0.0.1:${SIPPORT}\nauth_algorithms = MD5\n` +
  `[webrtc]\nlocal_addresses = 127.0.0.1\nport_min = 27800\nport_max = 27899\n` +
  `[media]\nrtp_address = 127.0.0.1\nrtp_port_min = 28100\nrtp_port_max = 28199\n` +
  `[user:erin]\npassword = er1n-secret\n[user:bob]\npassword = b0b-secret\n` +
  `[trunk:itsp]\nhost = 127.0.0.1\nport = ${PORT1}\ntransport = udp\ncodecs = pcmu\n` +
  `[trunk:two]\nhost = 127.0.0.1\nport = ${PORT2}\ntransport = udp\ncodecs = pcmu\n` +
  // baresip answers only its account's user part: 0123 -> "trunk", 3000 -> "second".
  `[route:out]\nmatch = ^0\\d+$\nstrip = 4\nprepend = trunk\ntarget = trunk:itsp\n` +
  `[route:two]\nmatch = ^3\\d+$\nstrip = 4\nprepend = second\ntarget = trunk:two\n` +
  // What trunk:itsp may dial when it transfers erin: 4xxx -> "second".
  `[route:itsp-xfer]\nmatch = ^4\\d+$\nfrom = trunk:itsp\nstrip = 4\nprepend = second\ntarget = trunk:two\n` +
  `[route:itsp-bob]\nmatch = ^bob$\nfrom = trunk:itsp\ntarget = user:bob\n`;

// Two baresips, each auto-answering one account, playing a tone from an
// 8 kHz WAV and dumping what it hears (sndfile) into its own folder.
const baresip = (name, port, ctrl, rtp, tone, user) => startBaresip({ name, port, ctrl, rtp,
  wav: toneWav(`tone${tone}.wav`, tone, 60, 8000), accounts: `<sip:${user}@127.0.0.1:${port}>;regint=0;answermode=auto;audio_codecs=PCMU,PCMA` });

const pageSetup = () => {
  window.jn = { sessions: {}, ended: {} };
  jn.start = async (ws, user, password) => { const r = await jnStartUA(ws, user, password); jn.ua = r.ua; return r.status; };
  // A second UA, registered, that answers every call as session `slot`.
  jn.answerer = async (ws, user, password, slot) => (await jnStartUA(ws, user, password, { register: true, on: {
    newRTCSession: e => {
      if (e.originator !== 'remote') return;
      jn.sessions[slot] = e.session;
      e.session.on('confirmed', () => { jn.ended[slot] = jn.ended[slot] || null; jn.confirmed = (jn.confirmed || 0) + 1; });
      e.session.on('ended', ev => { jn.ended[slot] = `${ev.originator} ${ev.cause}`; });
      e.session.on('failed', ev => { jn.ended[slot] = `failed ${ev.originator} ${ev.cause}`; });
      e.session.answer(jnMedia);
    },
  } })).status;
  // Calls target as session `slot`; notes how it ends in jn.ended[slot].
  jn.call = (target, slot) => {
    const c = jnCall(jn.ua, target, { on: { ended: e => { jn.ended[slot] = `${e.originator} ${e.cause}`; } } });
    jn.sessions[slot] = c.session;
    return c.result;
  };
  // REFERs session `slot` to target (with Replaces of session `replaces`
  // when given); resolves with the events seen, in order, once the refer
  // has failed or the session has ended (or after 15 s).
  jn.refer = (slot, target, replaces) => new Promise(res => {
    const s = jn.sessions[slot], evs = [];
    const t = setTimeout(() => res(evs.concat('timeout')), 15000);
    const finish = () => { clearTimeout(t); res(evs); };
    s.on('ended', e => { evs.push(`ended ${e.originator} ${e.cause}`); finish(); });
    const line = e => e.status_line ? ` ${e.status_line.status_code}` : '';
    s.refer(target, {
      replaces: replaces ? jn.sessions[replaces] : undefined,
      eventHandlers: {
        requestSucceeded: e => evs.push(`requestSucceeded ${e.response.status_code}`),
        requestFailed: e => { evs.push(`requestFailed ${e.response ? e.response.status_code : e.cause}`); finish(); },
        trying: e => evs.push(`trying${line(e)}`),
        progress: e => evs.push(`progress${line(e)}`),
        accepted: e => evs.push(`accepted${line(e)}`),
        failed: e => { evs.push(`failed${line(e)}`); finish(); },
      },
    });
  });
  // One second of what session `slot` receives (after 0.2 s to settle).
  jn.capture = slot => jnCapture(jnAudioTrack(jn.sessions[slot].connection));
  // The inbound-rtp counters of session `slot` (for diagnostics).
  jn.inbound = async slot => {
    const st = await jn.sessions[slot].connection.getStats();
    let r = null;
    st.forEach(x => { if (x.type === 'inbound-rtp') r = { packetsReceived: x.packetsReceived, packetsLost: x.packetsLost,
      packetsDiscarded: x.packetsDiscarded, concealedSamples: x.concealedSamples, totalSamplesReceived: x.totalSamplesReceived }; });
    return r;
  };
  jn.established = slot => jn.sessions[slot].isEstablished();
  jn.hangup = slot => jnHangup(jn.sessions[slot]);
};

const cdr = () => cdrLines(CDR);
// The peak frequency of every 0.25 s window of a recording that is not
// silent (rms > 0.01), rounded to 10 Hz.
function windows(w) {
  const out = [];
  if (!w) return out;
  const step = Math.round(w.rate / 4);
  for (let i = 0; i + step <= w.samples.length; i += step) {
    const a = analyse(w.samples.slice(i, i + step), w.rate);
    if (a.rms > 0.01) out.push(Math.round(a.freq / 10) * 10);
  }
  return out;
}

let jn, browser, b1, b2, c1, c2;
try {
  b1 = baresip('baresip1', PORT1, CTRL1, '28200-28299', 880, 'trunk');
  b2 = baresip('baresip2', PORT2, CTRL2, '28300-28399', 660, 'second');
  await sleep(500);
  c1 = await baresipControl(CTRL1);
  c2 = await baresipControl(CTRL2);
  jn = await startJunction(conf, { httpPort: HTTP });
  browser = await launchBrowser({ audioFile: toneWav('tone440.wav', 440, 60) });
  const { page } = await openPage(browser, HTTP, pageSetup);
  const st = await page.evaluate(([ws]) => jn.start(ws, 'erin', 'er1n-secret'), [WSURL]);

  // ---- blind transfer: the browser hands the trunk over to 3000 ----
  const res = await page.evaluate(() => jn.call('0123', 'a'));
  ok(st === 'ok' && res === 'confirmed', `erin's call to 0123 (trunk:itsp, baresip 1) is confirmed (${res})`, b1.log() + junctionLog());
  // Let baresip 1 hear erin for a while (from ICE connected) first.
  await waitFor(() => page.evaluate(() => /connected|completed/.test(jn.sessions.a.connection.iceConnectionState)), 5000);
  await sleep(2500);
  const evs = await page.evaluate(() => jn.refer('a', '3000'));
  ok(evs.join(', ') === 'requestSucceeded 202, trying 100, accepted 200, ended remote Terminated',
     `refer('3000'): JsSIP saw ${evs.join(', ')}`, junctionLog());
  const est2 = await waitFor(() => c2.events.some(e => e.type === 'CALL_ESTABLISHED'), 5000);
  ok(est2 && c1.events.filter(e => e.type === 'CALL_CLOSED').length === 0,
     'baresip 2 ("second") answered junction\'s call; baresip 1\'s call goes on', JSON.stringify([c1.events, c2.events]));
  // baresip 1 and 2 now talk through junction; then baresip 1 hangs up.
  await sleep(5000);
  const n2 = c2.events.length;
  await c1.command('hangup');
  const closed2 = await waitFor(() => c2.events.slice(n2).some(e => e.type === 'CALL_CLOSED'), 5000);
  ok(closed2, 'baresip 1 hangs up: the BYE reaches baresip 2', JSON.stringify(c2.events) + '\n' + junctionLog());
  await sleep(500);

  // baresip 1's recording: erin's tone until the transfer, then the second
  // baresip's. Judge the order of the tones, not wall-clock offsets.
  const w1 = decodedWav(b1.snd), w2 = decodedWav(b2.snd);
  const tones = windows(w1);
  const runs = [];
  for (const f of tones) if (!runs.length || runs[runs.length - 1].f !== f) runs.push({ f, n: 1 }); else runs[runs.length - 1].n++;
  const desc = runs.map(r => `${r.f} Hz x ${r.n}`).join(', ');
  const r440 = runs.find(r => r.f === 440), r660 = runs[runs.length - 1];
  ok(runs.length >= 2 && runs[0].f === 440 && runs[0].n >= 2,
     `baresip 1 heard erin's 440 Hz first (0.25 s windows: ${desc})`, { files: fs.readdirSync(b1.snd) });
  ok(r660 && r660.f === 660 && r660.n >= 4 && runs.indexOf(r660) <= runs.indexOf(r440) + 2,
     '... and then, to the end, baresip 2\'s 660 Hz (at least 1 s of it)', { files: fs.readdirSync(b1.snd) });
  const heard2 = analyseWav(w2, 0.5, 2.5);
  ok(Math.abs(heard2.freq - 880) <= 15 && heard2.rms > 0.01,
     `baresip 2 heard baresip 1's 880 Hz: peak ${heard2.freq} Hz, rms ${heard2.rms.toFixed(3)}`, { heard2, files: fs.readdirSync(b2.snd) });

  ok(await waitFor(() => cdr().length === 1, 3000), 'one CDR line for the transferred call', cdr());
  const c = cdr()[0] || {};
  const legs = c.legs || [];
  // After the transfer the call's legs are the trunk (erin's callee) and
  // the second baresip: both PCMU, so relayed.
  ok(c.caller === 'user:erin' && c.route === 'out' && c.cause === 'normal' && c.media === 'relay' &&
     c.transfer === 'blind by user:erin to 3000 (trunk:two)' &&
     legs.length === 2 && legs.every(g => g.kind === 'rtp' && g.codec && /pcmu/i.test(g.codec) && g.packets_received > 50),
     `CDR: caller ${c.caller}, route ${c.route}, cause ${c.cause} (${c.reason}), transfer "${c.transfer}", media ${c.media}, legs ${legs.map(g => `${g.kind}/${g.codec}/${g.packets_received}`).join(' ')}`, c);

  // The stream toward baresip 1 must go on across the transfer (same SSRC,
  // sequence and timestamp continuing): a jump back makes it drop packets
  // as late, and its recording comes out shorter than what was sent.
  const rec1 = w1 ? w1.samples.length / w1.rate : 0, sent1 = legs[0] ? legs[0].packets_sent * 0.02 : 0;
  ok(sent1 > 0 && rec1 >= 0.9 * sent1,
     `baresip 1 played what junction sent it across the transfer: ${rec1.toFixed(2)} s decoded of ${sent1.toFixed(2)} s sent (20 ms packets)`, c);

  // ---- the trunk transfers erin: baresip 1 REFERs her to 4000 ----
  const rt = await page.evaluate(() => jn.call('0123', 'd'));
  await waitFor(() => page.evaluate(() => /connected|completed/.test(jn.sessions.d.connection.iceConnectionState)), 5000);
  await sleep(2500);
  const heardBefore = await pageHears(page, () => jn.capture('d'));
  const e1 = c1.events.length, e2 = c2.events.length;
  await c1.command('transfer', `sip:4000@127.0.0.1:${SIPPORT}`);
  const est = await waitFor(() => c2.events.slice(e2).some(e => e.type === 'CALL_ESTABLISHED'), 5000);
  const gone1 = await waitFor(() => c1.events.slice(e1).some(e => e.type === 'CALL_CLOSED'), 5000);
  ok(rt === 'confirmed' && est && gone1, `baresip 1 (trunk:itsp) transfers erin to 4000: baresip 2 answers, baresip 1's call ends (${rt}, established ${!!est}, closed ${!!gone1})`,
     JSON.stringify([c1.events.slice(e1), c2.events.slice(e2)]) + '\n' + junctionLog());
  await sleep(1000);
  const heardAfter = await pageHears(page, () => jn.capture('d'));
  const stillUp = await page.evaluate(() => jn.established('d') && !jn.ended.d);
  ok(stillUp && Math.abs(heardBefore.freq - 880) <= 15 && Math.abs(heardAfter.freq - 660) <= 15 && heardAfter.rms > 0.01,
     `erin's session stays up and she hears 880 Hz before (rms ${heardBefore.rms.toFixed(3)}), ${heardAfter.freq} Hz 1 s after the transfer (rms ${heardAfter.rms.toFixed(3)})`,
     { heardBefore, heardAfter, stillUp });
  diag(`erin's inbound RTP after the transfer: ${JSON.stringify(await page.evaluate(() => jn.inbound('d')))}`);
  const later = await pageHears(page, () => jn.capture('d'));
  diag(`... 2.2 s after the transfer she hears ${later.freq} Hz, rms ${later.rms.toFixed(3)}; inbound RTP ${JSON.stringify(await page.evaluate(() => jn.inbound('d')))}`);
  const e2b = c2.events.length;
  const hd = await page.evaluate(() => jn.hangup('d'));
  const closed2b = await waitFor(() => c2.events.slice(e2b).some(e => e.type === 'CALL_CLOSED'), 5000);
  ok(hd === 'ended Terminated' && closed2b, `erin hangs up (${hd}): the BYE reaches baresip 2`, JSON.stringify(c2.events.slice(e2b)));
  await sleep(500);
  const w2b = decodedWav(b2.snd);
  const h2b = analyseWav(w2b, 0.5, 1.5);
  ok(Math.abs(h2b.freq - 440) <= 15 && h2b.rms > 0.01, `baresip 2 heard erin's 440 Hz: peak ${h2b.freq} Hz, rms ${h2b.rms.toFixed(3)}`, { h2b, files: fs.readdirSync(b2.snd) });
  ok(await waitFor(() => cdr().length === 2, 3000) && cdr()[1].cause === 'normal' && cdr()[1].media === 'transcode' &&
     cdr()[1].transfer === 'blind by trunk:itsp to 4000 (trunk:two)',
     `its CDR line: normal, transcode, transfer "${(cdr()[1] || {}).transfer}" (${(cdr()[1] || {}).cause}, ${(cdr()[1] || {}).media})`, cdr()[1]);

  // ---- the trunk transfers erin to a user: bob (another JsSIP UA) ----
  const reg = await page.evaluate(([ws]) => jn.answerer(ws, 'bob', 'b0b-secret', 'bob'), [WSURL]);
  const rf = await page.evaluate(() => jn.call('0123', 'f'));
  await waitFor(() => page.evaluate(() => /connected|completed/.test(jn.sessions.f.connection.iceConnectionState)), 5000);
  await sleep(1000);
  const e1f = c1.events.length;
  await c1.command('transfer', `sip:bob@127.0.0.1:${SIPPORT}`);
  const bobUp = await waitFor(() => page.evaluate(() => jn.confirmed === 1), 8000);
  const gone1f = await waitFor(() => c1.events.slice(e1f).some(e => e.type === 'CALL_CLOSED'), 5000);
  ok(reg === 'ok' && rf === 'confirmed' && bobUp && gone1f,
     `baresip 1 transfers erin's call to bob (user:bob): bob's session is confirmed, baresip 1's call ends (${reg}, ${rf}, bob ${!!bobUp}, closed ${!!gone1f})`,
     junctionLog());
  await waitFor(() => page.evaluate(() => /connected|completed/.test(jn.sessions.bob.connection.iceConnectionState)), 5000);
  await sleep(1000);
  const bobHears = bobUp ? await pageHears(page, () => jn.capture('bob')) : { freq: 0, rms: 0 };
  ok(Math.abs(bobHears.freq - 440) <= 15 && bobHears.rms > 0.01 && await page.evaluate(() => jn.established('f')),
     `erin's session stays up and bob hears her 440 Hz: peak ${bobHears.freq} Hz, rms ${bobHears.rms.toFixed(3)}`, bobHears);
  const hf = await page.evaluate(() => jn.hangup('f'));
  const bobEnded = await waitFor(() => page.evaluate(() => jn.ended.bob), 5000);
  ok(hf === 'ended Terminated' && bobEnded === 'remote Terminated', `erin hangs up (${hf}): bob's session ends by junction's BYE (${bobEnded})`);
  ok(await waitFor(() => cdr().length === 3, 3000) && cdr()[2].cause === 'normal' &&
     /^blind by trunk:itsp to bob \(/.test(cdr()[2].transfer || ''),
     `its CDR line: normal, media ${(cdr()[2] || {}).media}, transfer "${(cdr()[2] || {}).transfer}"`, cdr()[2]);

  // ---- attended transfer: erin calls both baresips, then joins them ----
  const ra = await page.evaluate(() => jn.call('0123', 'b'));
  const rb = await page.evaluate(() => jn.call('3001', 'c'));
  const e1g = c1.events.length, e2g = c2.events.length;
  const evs2 = ra === 'confirmed' && rb === 'confirmed' ? await page.evaluate(() => jn.refer('b', '3001', 'c')) : [];
  ok(evs2.join(', ') === 'requestSucceeded 202, trying 100, accepted 200, ended remote Terminated',
     `attended: refer('3001', {replaces: her call to 3001}) with two calls up (${ra}, ${rb}): JsSIP saw ${evs2.join(', ')}`,
     junctionLog());
  const endedC = await waitFor(() => page.evaluate(() => jn.ended.c), 3000);
  const bothUp = c1.events.slice(e1g).filter(e => e.type === 'CALL_CLOSED').length === 0 &&
                 c2.events.slice(e2g).filter(e => e.type === 'CALL_CLOSED').length === 0;
  ok(endedC === 'remote Terminated' && bothUp, `... her call to 3001 is ended by junction too (${endedC}); both baresips stay in their calls (${bothUp})`,
     JSON.stringify([c1.events.slice(e1g), c2.events.slice(e2g)]));
  await sleep(3000);
  await c1.command('hangup');
  const closedG = await waitFor(() => c2.events.slice(e2g).some(e => e.type === 'CALL_CLOSED'), 5000);
  ok(closedG, 'baresip 1 hangs up: the BYE reaches baresip 2 (they were joined)', JSON.stringify(c2.events.slice(e2g)));
  await sleep(500);
  const last = w => { const t = windows(w); let n = 0; while (n < t.length && t[t.length - 1 - n] === t[t.length - 1]) n++; return { f: t[t.length - 1], n }; };
  const l1 = last(decodedWav(b1.snd)), l2 = last(decodedWav(b2.snd));
  ok(l1.f === 660 && l1.n >= 4 && l2.f === 880 && l2.n >= 4,
     `after the join baresip 1 hears ${l1.f} Hz (${l1.n / 4} s to the end) and baresip 2 hears ${l2.f} Hz (${l2.n / 4} s)`, { l1, l2 });
  await waitFor(() => cdr().length === 5, 3000);
  const [g1, g2] = cdr().slice(3);
  ok(g1 && g2 && g1.cause === 'transferred' && /^attended by user:erin/.test(g1.transfer || '') &&
     g2.cause === 'normal' && /^attended by user:erin: joined /.test(g2.transfer || '') && g2.legs.every(g => g.kind === 'rtp'),
     `CDR: her call to 3001 ${g1 && g1.cause} (${g1 && g1.transfer}); the call to 0123 ${g2 && g2.cause} (${g2 && g2.transfer})`,
     cdr().slice(3));
} catch (e) {
  ok(false, `unexpected error: ${e.stack || e.message}`, junctionLog());
} finally {
  await closeAll(browser, c1, c2, b1, b2);
  const code = await stopJunction(jn);
  ok(code === 0, `junction exits 0 (no leak or crash under ASan): ${code}`, junctionLog());
  done();
}
