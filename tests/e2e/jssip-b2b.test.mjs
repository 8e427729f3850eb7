// Browser ⇄ browser through junction: two Chromium instances, each with its
// own fake microphone (erin plays 440 Hz, bob 660 Hz), each running a JsSIP
// UA registered over WS. erin calls bob ([route:users] match=^(erin|bob)$
// target=user:$1), bob answers, each hears the other's tone (WebAudio
// capture of the remote track), erin's DTMF (JsSIP sendDTMF, SIP INFO) reaches
// bob's newDTMF, each holds and resumes in turn (both sides silent while
// held, each tone back after), erin hangs up and bob's session ends with a BYE; the CDR line says caller user:erin, target user:bob. Then bob declines
// a second call (486 reaches erin) and erin cancels a third while it rings.
import path from 'node:path';
import { plan, ok, done, diag, WORK, startJunction, stopJunction, launchBrowser, junctionLog, toneWav,
	 waitFor, sleep, openPage, pageHears, cdrLines, closeAll } from './lib.mjs';

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

// In each page: one registered JsSIP UA; jn.session is the current call
// (outgoing or incoming), jn.state what happened to it.
const pageSetup = () => {
  window.jn = { incoming: 0, dtmf: '' };
  jn.register = async (ws, user, password) => {
    const r = await jnStartUA(ws, user, password, { register: true, on: {
      newRTCSession: e => {
        if (e.originator !== 'remote') return;
        jn.incoming++;
        jn.track(e.session);
        jn.from = String(e.request.from.uri);
      },
    } });
    jn.ua = r.ua;
    return r.status;
  };
  jn.track = s => {
    jn.session = s;
    jn.state = 'ringing';
    s.on('confirmed', () => { jn.state = 'confirmed'; });
    s.on('failed', e => { jn.state = `failed ${e.originator} ${e.cause}` + (e.message && e.message.status_code ? ` ${e.message.status_code}` : ''); });
    s.on('ended', e => { jn.state = `ended ${e.originator} ${e.cause}`; });
    s.on('newDTMF', e => { if (e.originator === 'remote') jn.dtmf += e.dtmf.tone; });
  };
  jn.call = target => { jn.track(jn.ua.call(`sip:${target}@127.0.0.1`, jnMedia)); };
  jn.answer = () => jn.session.answer(jnMedia);
  jn.capture = () => jnCapture(jnAudioTrack(jn.session.connection));
};

const cdr = () => cdrLines(CDR);

async function openPhone(browser, user, password) {
  const { page, errors, wire } = await openPage(browser, HTTP, pageSetup, { record: true });
  Object.assign(page, { errors, wire });
  page.reg = await page.evaluate(([ws, u, p]) => jn.register(ws, u, p), [WSURL, user, password]);
  return page;
}
const stateOf = page => page.evaluate(() => jn.state);
const hears = page => pageHears(page, () => jn.capture());

let jn, be, bb;
try {
  jn = await startJunction(conf, { httpPort: HTTP });
  be = await launchBrowser({ audioFile: toneWav('tone440.wav', 440, 60) });
  bb = await launchBrowser({ audioFile: toneWav('tone660.wav', 660, 60) });
  const erin = await openPhone(be, 'erin', 'er1n-secret');
  const bob = await openPhone(bb, 'bob', 'b0b-secret');
  ok(erin.reg === 'ok' && bob.reg === 'ok', `erin and bob register (${erin.reg}, ${bob.reg})`, junctionLog());

  // ---- erin calls bob; bob answers after ~1 s ----
  await erin.evaluate(() => jn.call('bob'));
  const rang = await waitFor(() => bob.evaluate(() => jn.incoming === 1), 10000);
  const from = await bob.evaluate(() => jn.from);
  ok(rang && /^sip:erin@/.test(from), `bob's phone rings with a call from ${from}`, junctionLog());
  await sleep(1000);
  if (rang) await bob.evaluate(() => jn.answer());
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
  await waitFor(() => cdr().length >= 1, 3000);
  const c = cdr()[0] || {};
  ok(c.caller === 'user:erin' && c.target === 'user:bob' && c.cause === 'normal' && c.media === 'relay' && c.answer && c.reason === 'caller hung up' &&
     c.legs && c.legs.every(l => l.kind === 'webrtc' && l.packets_received > 50),
     `CDR: caller ${c.caller}, target ${c.target}, cause ${c.cause} (${c.reason}), media ${c.media}`, c);

  // ---- bob declines ----
  await erin.evaluate(() => jn.call('bob'));
  const rang2 = await waitFor(() => bob.evaluate(() => jn.incoming === 2), 10000);
  await sleep(500);
  if (rang2) await bob.evaluate(() => jn.session.terminate({ status_code: 486 }));
  await waitFor(async () => /^failed/.test(await stateOf(erin)), 5000);
  const d = await stateOf(erin);
  ok(rang2 && /^failed remote Busy 486$/.test(d), `bob declines with 486: erin's call fails (${d})`, junctionLog());
  ok(await waitFor(() => cdr().length >= 2 && cdr()[1].sip_code === 486, 3000), 'its CDR line has 486', cdr()[1]);

  // ---- erin cancels while bob rings ----
  await erin.evaluate(() => jn.call('bob'));
  const rang3 = await waitFor(() => bob.evaluate(() => jn.incoming === 3), 10000);
  await sleep(500);
  if (rang3) await erin.evaluate(() => jn.session.terminate());
  await waitFor(async () => /^failed/.test(await stateOf(bob)), 5000);
  const cb = await stateOf(bob);
  ok(rang3 && cb === 'failed remote Canceled', `erin cancels while bob rings: bob's session fails (${cb})`, junctionLog());
  diag('CDR: ' + JSON.stringify(cdr().slice(1).map(l => [l.cause, l.sip_code, l.reason])));
  ok(erin.errors.length === 0 && bob.errors.length === 0, 'no script errors on the pages', erin.errors.concat(bob.errors).join('\n'));
} catch (e) {
  ok(false, `unexpected error: ${e.stack || e.message}`, junctionLog());
} finally {
  await closeAll(be, bb);
  const code = await stopJunction(jn);
  if (code !== 0) diag(`junction exited with ${code}\n${junctionLog()}`);
  done();
}
