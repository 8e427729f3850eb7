// Browser ⇄ browser through junction: two Chromium instances, each with its
// own fake microphone (erin plays 440 Hz, bob 660 Hz), each running a JsSIP
// UA registered over WS. erin calls bob ([route:users] match=^(erin|bob)$
// target=user:$1), bob answers, each hears the other's tone (WebAudio
// capture of the remote track), erin's DTMF (JsSIP sendDTMF, SIP INFO) reaches
// bob's newDTMF, each holds and resumes in turn (both sides silent while
// held, each tone back after), erin hangs up and bob's session ends with a BYE; the CDR line says caller user:erin, target user:bob. Then bob declines
// a second call (486 reaches erin) and erin cancels a third while it rings.
import fs from 'node:fs';
import path from 'node:path';
import { plan, ok, done, diag, WORK, startJunction, stopJunction, launchBrowser, jssipBundle, junctionLog, toneWav, analyse,
	 waitFor, recordSip } from './lib.mjs';

plan(14);
const HTTP = 18780, WS = 18781, SIPPORT = 15760;
const WSURL = `ws://127.0.0.1:${WS}`;
const CDR = path.join(WORK, 'cdr.jsonl');
const conf = `[general]\ncdr_file = ${CDR}\n` +
  `[api]\nhttp_listen = 127.0.0.1:${HTTP}\n[websocket]\nlisten = 127.0.0.1:${WS}\n` +
  `[sip]\nudp_listen = 127.0.0.1:${SIPPORT}\nauth_algorithms = MD5\n` +
  `[webrtc]\nlocal_addresses = 127.0.0.1\nport_min = 25500\nport_max = 25999\n` +
  `[user:erin]\npassword = er1n-secret\n[user:bob]\npassword = b0b-secret\n` +
  `[route:users]\nmatch = ^(erin|bob)$\nfrom = user:*\ntarget = user:$1\n`;
const sleep = ms => new Promise(r => setTimeout(r, ms));
const audio = { echoCancellation: false, noiseSuppression: false, autoGainControl: false };

// In each page: one registered JsSIP UA; jn.session is the current call
// (outgoing or incoming), jn.state what happened to it.
const pageSetup = () => {
  window.jn = { incoming: 0, dtmf: '' };
  jn.register = (ws, user, password) => new Promise(res => {
    const ua = new JsSIP.UA({ sockets: [new JsSIP.WebSocketInterface(ws)], uri: `sip:${user}@127.0.0.1`, password,
                              register: true, session_timers: false });
    jn.ua = ua;
    const t = setTimeout(() => res('timeout'), 8000);
    ua.on('registered', () => { clearTimeout(t); res('registered'); });
    ua.on('registrationFailed', e => { clearTimeout(t); res(`failed ${e.cause}`); });
    ua.on('newRTCSession', e => {
      if (e.originator !== 'remote') return;
      jn.incoming++;
      jn.track(e.session);
      jn.from = String(e.request.from.uri);
    });
    ua.start();
  });
  jn.track = s => {
    jn.session = s;
    jn.state = 'ringing';
    s.on('confirmed', () => { jn.state = 'confirmed'; });
    s.on('failed', e => { jn.state = `failed ${e.originator} ${e.cause}` + (e.message && e.message.status_code ? ` ${e.message.status_code}` : ''); });
    s.on('ended', e => { jn.state = `ended ${e.originator} ${e.cause}`; });
    s.on('newDTMF', e => { if (e.originator === 'remote') jn.dtmf += e.dtmf.tone; });
  };
  jn.call = (target, media) => {
    jn.track(jn.ua.call(`sip:${target}@127.0.0.1`, { mediaConstraints: { audio: media, video: false }, pcConfig: { iceServers: [] } }));
  };
  jn.answer = media => jn.session.answer({ mediaConstraints: { audio: media, video: false }, pcConfig: { iceServers: [] } });
  jn.capture = async () => {
    const track = jn.session.connection.getReceivers().map(r => r.track).find(t => t && t.kind === 'audio');
    const stream = new MediaStream([track]);
    const a = new Audio(); a.srcObject = stream; a.muted = true; await a.play().catch(() => {});
    const ctx = new AudioContext({ sampleRate: 48000 });
    const src = ctx.createMediaStreamSource(stream);
    const proc = ctx.createScriptProcessor(4096, 1, 1);
    const buf = [];
    await new Promise(res => {
      proc.onaudioprocess = e => { buf.push(...e.inputBuffer.getChannelData(0)); if (buf.length >= 48000 + 9600) res(); };
      src.connect(proc); proc.connect(ctx.destination);
    });
    proc.disconnect(); src.disconnect(); await ctx.close();
    return { rate: 48000, samples: buf.slice(9600) };
  };
};

const cdrLines = () => (fs.existsSync(CDR) ? fs.readFileSync(CDR, 'utf8').split('\n').filter(Boolean).map(l => JSON.parse(l)) : []);

async function openPhone(browser, user, password) {
  const page = await browser.newPage();
  page.errors = [];
  page.wire = await recordSip(page);
  page.on('pageerror', e => page.errors.push(e.message));
  await page.goto(`http://127.0.0.1:${HTTP}/`);
  await page.addScriptTag({ content: jssipBundle() });
  await page.evaluate(pageSetup);
  page.reg = await page.evaluate(([ws, u, p]) => jn.register(ws, u, p), [WSURL, user, password]);
  return page;
}
const stateOf = page => page.evaluate(() => jn.state);
async function hears(page) {
  const r = await page.evaluate(() => jn.capture());
  return analyse(r.samples, r.rate);
}

let jn, be, bb;
try {
  jn = await startJunction(conf, { httpPort: HTTP });
  be = await launchBrowser({ audioFile: toneWav('tone440.wav', 440, 60) });
  bb = await launchBrowser({ audioFile: toneWav('tone660.wav', 660, 60) });
  const erin = await openPhone(be, 'erin', 'er1n-secret');
  const bob = await openPhone(bb, 'bob', 'b0b-secret');
  ok(erin.reg === 'registered' && bob.reg === 'registered', `erin and bob register (${erin.reg}, ${bob.reg})`, junctionLog());

  // ---- erin calls bob; bob answers after ~1 s ----
  await erin.evaluate(a => jn.call('bob', a), audio);
  const rang = await waitFor(() => bob.evaluate(() => jn.incoming === 1), 10000);
  const from = await bob.evaluate(() => jn.from);
  ok(rang && /^sip:erin@/.test(from), `bob's phone rings with a call from ${from}`, junctionLog());
  await sleep(1000);
  if (rang) await bob.evaluate(a => jn.answer(a), audio);
  await waitFor(async () => (await stateOf(erin)) !== 'ringing' && (await stateOf(bob)) !== 'ringing', 10000);
  const se = await stateOf(erin), sb = await stateOf(bob);
  ok(se === 'confirmed' && sb === 'confirmed', `both sessions are confirmed (erin: ${se}, bob: ${sb})`, junctionLog());
  let he = { freq: 0, rms: 0 }, hb = { freq: 0, rms: 0 };
  if (se === 'confirmed' && sb === 'confirmed') {
    await sleep(2000);
    [he, hb] = await Promise.all([hears(erin), hears(bob)]);
  }
  ok(Math.abs(he.freq - 660) <= 15 && he.rms > 0.01, `erin hears bob's tone: peak ${he.freq} Hz, rms ${he.rms.toFixed(3)}`, he);
  ok(Math.abs(hb.freq - 440) <= 15 && hb.rms > 0.01, `bob hears erin's tone: peak ${hb.freq} Hz, rms ${hb.rms.toFixed(3)}`, hb);

  // ---- DTMF erin -> bob (INFO in, INFO out) ----
  if (se === 'confirmed') await erin.evaluate(() => jn.session.sendDTMF('17#', { duration: 100, interToneGap: 100 }));
  await waitFor(async () => (await bob.evaluate(() => jn.dtmf)).length >= 3, 5000);
  const dt = await bob.evaluate(() => jn.dtmf);
  ok(dt === '17#', `erin's DTMF reaches bob: "${dt}"`, 'erin:\n' + await erin.wire({ last: 12 }) + '\nbob:\n' + await bob.wire({ last: 12 }));

  // ---- hold and resume from each side: silence while held, tones after ----
  const holdRound = async (who, other) => {
    const hold = await who.evaluate(() => new Promise(res => {
      const t = setTimeout(() => res('timeout'), 5000);
      jn.session.once('hold', () => { clearTimeout(t); res('held'); });
      jn.session.hold();
    }));
    const otherSaw = await waitFor(() => other.evaluate(() => jn.session.isOnHold().remote), 5000);
    await sleep(1000);
    const [hw, ho] = await Promise.all([hears(who), hears(other)]);
    // JsSIP re-offers only when no transaction is pending: wait for its hold to finish.
    await waitFor(() => who.evaluate(() => jn.session.isReadyToReOffer()), 5000);
    const resumed = await who.evaluate(() => jn.session.unhold());
    const otherBack = await waitFor(async () => !(await other.evaluate(() => jn.session.isOnHold().remote)), 5000);
    await sleep(1500);
    const [rw, ro] = await Promise.all([hears(who), hears(other)]);
    return { hold, otherSaw, held: [hw.rms, ho.rms], resumed, otherBack, back: [rw, ro] };
  };
  const quiet = r => r.held.every(x => x < 0.01);
  let h1 = {}, h2 = {};
  if (se === 'confirmed') {
    h1 = await holdRound(erin, bob);
    h2 = await holdRound(bob, erin);
  }
  const fmt = h => `held rms ${h.held && h.held.map(x => x.toFixed(3))}, back ${h.back && h.back.map(x => `${x.freq} Hz`)}`;
  ok(h1.hold === 'held' && h1.otherSaw && quiet(h1) && h1.resumed && h1.otherBack &&
     Math.abs(h1.back[0].freq - 660) <= 15 && Math.abs(h1.back[1].freq - 440) <= 15,
     `erin holds (bob sees it, both silent), resumes (tones back): ${fmt(h1)}`, { h1, log: junctionLog() });
  ok(h2.hold === 'held' && h2.otherSaw && quiet(h2) && h2.resumed && h2.otherBack &&
     Math.abs(h2.back[0].freq - 440) <= 15 && Math.abs(h2.back[1].freq - 660) <= 15,
     `bob holds (erin sees it, both silent), resumes (tones back): ${fmt(h2)}`, { h2, log: junctionLog() });

  // ---- erin hangs up: bob gets BYE ----
  await erin.evaluate(() => jn.session.terminate());
  await waitFor(async () => /^ended/.test(await stateOf(bob)), 5000);
  const eb = await stateOf(bob), ee = await stateOf(erin);
  ok(eb === 'ended remote Terminated' && ee === 'ended local Terminated', `erin hangs up; bob's session ends (${eb}; erin: ${ee})`, junctionLog());
  await waitFor(() => cdrLines().length >= 1, 3000);
  const c = cdrLines()[0] || {};
  ok(c.caller === 'user:erin' && c.target === 'user:bob' && c.cause === 'normal' && c.media === 'relay' && c.answer && c.reason === 'caller hung up' &&
     c.legs && c.legs.every(l => l.kind === 'webrtc' && l.packets_received > 50),
     `CDR: caller ${c.caller}, target ${c.target}, cause ${c.cause} (${c.reason}), media ${c.media}`, c);

  // ---- bob declines ----
  await erin.evaluate(a => jn.call('bob', a), audio);
  const rang2 = await waitFor(() => bob.evaluate(() => jn.incoming === 2), 10000);
  await sleep(500);
  if (rang2) await bob.evaluate(() => jn.session.terminate({ status_code: 486 }));
  await waitFor(async () => /^failed/.test(await stateOf(erin)), 5000);
  const d = await stateOf(erin);
  ok(rang2 && /^failed remote Busy 486$/.test(d), `bob declines with 486: erin's call fails (${d})`, junctionLog());
  ok(await waitFor(() => cdrLines().length >= 2 && cdrLines()[1].sip_code === 486, 3000), 'its CDR line has 486', cdrLines()[1]);

  // ---- erin cancels while bob rings ----
  await erin.evaluate(a => jn.call('bob', a), audio);
  const rang3 = await waitFor(() => bob.evaluate(() => jn.incoming === 3), 10000);
  await sleep(500);
  if (rang3) await erin.evaluate(() => jn.session.terminate());
  await waitFor(async () => /^failed/.test(await stateOf(bob)), 5000);
  const cb = await stateOf(bob);
  ok(rang3 && cb === 'failed remote Canceled', `erin cancels while bob rings: bob's session fails (${cb})`, junctionLog());
  diag('CDR: ' + JSON.stringify(cdrLines().slice(1).map(l => [l.cause, l.sip_code, l.reason])));
  ok(erin.errors.length === 0 && bob.errors.length === 0, 'no script errors on the pages', erin.errors.concat(bob.errors).join('\n'));
} catch (e) {
  ok(false, `unexpected error: ${e.stack || e.message}`, junctionLog());
} finally {
  if (be) await be.close();
  if (bb) await bb.close();
  const code = await stopJunction(jn);
  if (code !== 0) diag(`junction exited with ${code}\n${junctionLog()}`);
  done();
}
