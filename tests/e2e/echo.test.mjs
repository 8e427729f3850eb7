// Browser echo over the JSON channel: headless Chromium calls junction's
// built-in "echo" (ICE + DTLS-SRTP) and hears itself back; plus the
// channel's error replies, a forged fingerprint, and a browser that
// vanishes (ICE consent). See docs/json-channel.md and docs/webrtc.md.
import { spawnSync, execFileSync } from 'node:child_process';
import { plan, ok, done, diag, startJunction, stopJunction, launchBrowser, junctionLog, toneWav, analyse } from './lib.mjs';

// Node 20 has WebSocket only behind a flag: re-run with it.
if (typeof WebSocket === 'undefined') {
  const r = spawnSync(process.execPath, ['--experimental-websocket', '--no-warnings', ...process.argv.slice(1)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

const HTTP = 18280, WS = 18281;
const WSURL = `ws://127.0.0.1:${WS}/`;
const conf = `[api]\nhttp_listen = 127.0.0.1:${HTTP}\n[websocket]\nlisten = 127.0.0.1:${WS}\n` +
  `[sip]\nudp_listen = 127.0.0.1:15260\ntcp_listen = 127.0.0.1:15260\n` +
  `[webrtc]\nlocal_addresses = 127.0.0.1\nport_min = 24000\nport_max = 24999\nconsent_timeout = 5\n`;
const sleep = ms => new Promise(r => setTimeout(r, ms));

// A signalling connection from node: send(obj), next(pred, ms) waits for a message.
async function channel() {
  const ws = new WebSocket(WSURL, 'junction');
  const queue = [], waiters = [];
  ws.onmessage = m => {
    const msg = JSON.parse(m.data);
    const i = waiters.findIndex(w => w.pred(msg));
    if (i >= 0) waiters.splice(i, 1)[0].res(msg); else queue.push(msg);
  };
  await new Promise((res, rej) => { ws.onopen = res; ws.onerror = () => rej(new Error('ws error')); });
  return {
    ws,
    send: o => ws.send(typeof o === 'string' ? o : JSON.stringify(o)),
    next: (pred, ms = 5000) => new Promise(res => {
      const i = queue.findIndex(pred);
      if (i >= 0) return res(queue.splice(i, 1)[0]);
      const w = { pred, res };
      waiters.push(w);
      setTimeout(() => { const k = waiters.indexOf(w); if (k >= 0) { waiters.splice(k, 1); res(null); } }, ms);
    }),
    close: () => ws.close(),
  };
}

// In the page: a peer connection with the fake microphone; signalling is
// relayed by node (offer out, answer and candidates in).
const pageSetup = () => {
  window.jn = {};
  window.jnOffer = async () => {
    const pc = new RTCPeerConnection();
    const mic = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false } });
    mic.getTracks().forEach(t => pc.addTrack(t, mic));
    jn.pc = pc; jn.mic = mic;
    pc.ontrack = e => { jn.remote = e.track; };
    const gathered = new Promise(r => { pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r(); });
    await pc.setLocalDescription(await pc.createOffer());
    await Promise.race([gathered, new Promise(r => setTimeout(r, 3000))]);
    return pc.localDescription.sdp; // candidates inline
  };
  // Trickle: the offer goes out at once; candidates are collected for node.
  window.jnOfferTrickle = async () => {
    const pc = new RTCPeerConnection();
    const mic = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false } });
    mic.getTracks().forEach(t => pc.addTrack(t, mic));
    jn.pc = pc; jn.mic = mic; jn.cands = [];
    pc.ontrack = e => { jn.remote = e.track; };
    pc.onicecandidate = e => jn.cands.push(e.candidate ? { candidate: e.candidate.candidate, sdpMid: e.candidate.sdpMid } : null);
    await pc.setLocalDescription(await pc.createOffer());
    return pc.localDescription.sdp;
  };
  // ICE restart: a new gathered offer with fresh credentials.
  window.jnRestartOffer = async () => {
    jn.pc.restartIce();
    const gathered = new Promise(r => { jn.pc.onicegatheringstatechange = () => jn.pc.iceGatheringState === 'complete' && r(); });
    await jn.pc.setLocalDescription(await jn.pc.createOffer({ iceRestart: true }));
    await Promise.race([gathered, new Promise(r => setTimeout(r, 3000))]);
    return jn.pc.localDescription.sdp;
  };
  window.jnPair = async () => {
    let id = null;
    (await jn.pc.getStats()).forEach(s => { if (s.type === 'transport') id = s.selectedCandidatePairId; });
    return id;
  };
  window.jnTakeCandidates = () => jn.cands.splice(0);
  window.jnAnswer = async sdp => { await jn.pc.setRemoteDescription({ type: 'answer', sdp }); };
  window.jnWait = async (what, ms) => {
    const t0 = Date.now();
    while (Date.now() - t0 < ms) {
      if (what === 'ice' && ['connected', 'completed'].includes(jn.pc.iceConnectionState)) return true;
      if (what === 'conn' && jn.pc.connectionState === 'connected') return true;
      if (what === 'failed' && ['failed', 'closed'].includes(jn.pc.connectionState)) return true;
      await new Promise(r => setTimeout(r, 50));
    }
    return false;
  };
  window.jnStats = async () => {
    const out = {};
    (await jn.pc.getStats()).forEach(s => {
      if (s.type === 'transport') { out.dtlsState = s.dtlsState; out.srtpCipher = s.srtpCipher; out.iceState = s.iceState; }
      if (s.type === 'outbound-rtp' && s.kind === 'audio') out.sent = s.packetsSent;
      if (s.type === 'inbound-rtp' && s.kind === 'audio') { out.received = s.packetsReceived; out.lost = s.packetsLost; }
      if (s.type === 'remote-inbound-rtp' && s.kind === 'audio') { out.rtt = s.roundTripTime; out.remoteLoss = s.fractionLost; }
    });
    return out;
  };
  // ~1 s of samples of a track through WebAudio.
  window.jnCapture = async which => {
    const track = which === 'remote' ? jn.remote : jn.mic.getAudioTracks()[0];
    const stream = new MediaStream([track]);
    if (which === 'remote') { const a = new Audio(); a.srcObject = stream; a.muted = true; await a.play().catch(() => {}); jn.audio = a; }
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

async function call(page, ch, { mungeFingerprint = false } = {}) {
  let sdp = await page.evaluate(() => jnOffer());
  if (mungeFingerprint)
    sdp = sdp.replace(/a=fingerprint:sha-256 (\S+)/g, (m, fp) => 'a=fingerprint:sha-256 ' + fp.split(':').map((b, i) => (i === 0 ? (b === '00' ? '01' : '00') : b)).join(':'));
  ch.send({ type: 'call', to: 'echo', sdp });
  const ans = await ch.next(m => m.type === 'answer' || m.type === 'error', 8000);
  if (ans && ans.type === 'answer') await page.evaluate(s => jnAnswer(s), ans.sdp);
  return ans;
}

plan(23);
let jn, browser, browser2;
try {
  jn = await startJunction(conf, { httpPort: HTTP });
  const tone = toneWav('tone440.wav', 440, 30);
  browser = await launchBrowser({ audioFile: tone });
  const page = await browser.newPage();
  page.on('pageerror', e => diag(`page error: ${e.message}`));
  await page.goto(`http://127.0.0.1:${HTTP}/`);
  await page.evaluate(pageSetup);

  // ---- the echo call ----
  const ch = await channel();
  const ans = await call(page, ch);
  ok(ans && ans.type === 'answer' && /^c[0-9a-f]+$/.test(ans.call_id) && /a=fingerprint:sha-256 /.test(ans.sdp),
     'call to echo: answer with call_id and a DTLS fingerprint', ans);
  ok(await page.evaluate(() => jnWait('ice', 10000)), 'ICE connected', await page.evaluate(() => jn.pc.iceConnectionState));
  ok(await page.evaluate(() => jnWait('conn', 10000)), 'DTLS connected (connectionState connected)');
  const st0 = await page.evaluate(() => jnStats());
  // We answer a=setup:passive, so we are the DTLS server and our profile
  // preference (AEAD_AES_128_GCM first) decides.
  ok(st0.dtlsState === 'connected' && st0.srtpCipher === 'SRTP_AEAD_AES_128_GCM',
     `SRTP cipher chosen: ${st0.srtpCipher} (our preference)`, st0);
  const state = await ch.next(m => m.type === 'state', 3000);
  ok(state && state.state === 'connected', 'channel reports state connected', state);
  await sleep(1000);
  const a = await page.evaluate(() => jnStats());
  await sleep(5000);
  const b = await page.evaluate(() => jnStats());
  const sent = b.sent - a.sent, recv = b.received - a.received;
  ok(sent > 200 && recv >= 0.95 * sent, `over 5 s ${recv} of ${sent} sent packets came back`, { a, b });
  const remote = await page.evaluate(() => jnCapture('remote'));
  const local = await page.evaluate(() => jnCapture('local'));
  const ra = analyse(remote.samples, remote.rate), la = analyse(local.samples, local.rate);
  ok(Math.abs(ra.freq - 440) <= 10, `echoed audio peaks at ${ra.freq} Hz (440 sent)`, ra);
  ok(la.rms > 0 && Math.abs(ra.rms - la.rms) <= 0.2 * la.rms, `echo level ${ra.rms.toFixed(3)} vs sent ${la.rms.toFixed(3)} (within 20%)`);
  const c = await page.evaluate(() => jnStats());
  ok(typeof c.rtt === 'number' && c.rtt >= 0 && c.rtt < 1 && c.remoteLoss === 0,
     `browser took our RTCP receiver report (RTT ${c.rtt} s, loss ${c.remoteLoss})`, c);
  ch.send({ type: 'stats' });
  const sst = await ch.next(m => m.type === 'stats', 3000);
  ok(sst && sst.call_id === ans.call_id && sst.packets_in > 300 && sst.packets_out >= sst.packets_in - 5 && sst.rtcp_in > 0 && sst.rtcp_out > 0 &&
     sst.srtp_profile === 'AEAD_AES_128_GCM' && sst.dtls_state === 'connected' && /127\.0\.0\.1:\d+ <-> 127\.0\.0\.1:\d+/.test(sst.selected_pair),
     `server stats: ${sst && sst.packets_in} in, ${sst && sst.packets_out} out, RTCP ${sst && sst.rtcp_in} in ${sst && sst.rtcp_out} out, ${sst && sst.selected_pair}`, sst);
  // ---- ICE restart on the live call ----
  const pair1 = await page.evaluate(() => jnPair());
  const ro = await page.evaluate(() => jnRestartOffer());
  ch.send({ type: 'offer', sdp: ro });
  const ans1b = await ch.next(m => m.type === 'answer' || m.type === 'error', 5000);
  const ufrag = t => (/a=ice-ufrag:(\S+)/.exec(t || '') || [])[1];
  ok(ans1b && ans1b.type === 'answer' && ans1b.call_id === ans.call_id && ufrag(ans1b.sdp) && ufrag(ans1b.sdp) !== ufrag(ans.sdp),
     'ICE restart: new answer on the same call with new ICE credentials', ans1b);
  if (ans1b && ans1b.type === 'answer') await page.evaluate(s => jnAnswer(s), ans1b.sdp);
  let pair2 = pair1;
  for (let i = 0; i < 50 && pair2 === pair1; i++) { await sleep(100); pair2 = await page.evaluate(() => jnPair()); }
  const r1 = await page.evaluate(() => jnStats());
  await sleep(2000);
  const r2 = await page.evaluate(() => jnStats());
  ok(pair2 && pair2 !== pair1 && await page.evaluate(() => jnWait('ice', 5000)) && r2.received - r1.received >= 0.95 * (r2.sent - r1.sent) && r2.sent - r1.sent > 50,
     `after the restart a new pair is selected and ${r2.received - r1.received} of ${r2.sent - r1.sent} packets come back`, { pair1, pair2, r1, r2 });
  ch.send({ type: 'hangup' });
  await sleep(500);
  ok(/call ended/.test(junctionLog()), 'hangup ends the call on the server');
  await page.evaluate(() => jn.pc.close());
  ch.close();

  // ---- a forged fingerprint is refused ----
  const ch2 = await channel();
  const ans2 = await call(page, ch2, { mungeFingerprint: true });
  ok(ans2 && ans2.type === 'answer', 'offer with a wrong fingerprint still gets an answer', ans2);
  const hup = await ch2.next(m => m.type === 'hangup', 10000);
  ok(hup && /fingerprint/.test(hup.reason), 'wrong fingerprint: DTLS refused, session closed with hangup', hup);
  ok(await page.evaluate(() => jnWait('failed', 10000)), 'browser sees the connection fail', await page.evaluate(() => jn.pc.connectionState));
  await page.evaluate(() => jn.pc.close());
  ch2.close();

  // ---- error replies ----
  const ch3 = await channel();
  const cases = [
    ['{not json', 'bad_json'],
    [{ type: 'dance' }, 'unknown_type'],
    [{ type: 'call', to: 'echo' }, 'missing_sdp'],
    [{ type: 'call', to: 'echo', sdp: 'v=0\r\nbogus\r\n' }, 'bad_sdp'],
    [{ type: 'call', to: 'nobody', sdp: ans.sdp }, 'not_logged_in'],
  ];
  const got = [];
  for (const [m, code] of cases) {
    ch3.send(m);
    const e = await ch3.next(x => x.type === 'error', 3000);
    got.push([code, e && e.code, e && e.message]);
  }
  ok(got.every(([want, code, msg]) => want === code && typeof msg === 'string' && msg.length > 0),
     'errors: bad_json, unknown_type, missing_sdp, bad_sdp (with reason), a non-echo target before login: not_logged_in', got);
  // call + immediate hangup (the worker is still gathering), then a new
  // call on the same connection: answered; "busy" while one is live.
  const offer3 = await page.evaluate(() => jnOffer());
  ch3.send({ type: 'call', to: 'echo', sdp: offer3 });
  ch3.send({ type: 'hangup' });
  ch3.send({ type: 'call', to: 'echo', sdp: offer3 });
  const a3 = await ch3.next(m => m.type === 'answer', 5000);
  ch3.send({ type: 'call', to: 'echo', sdp: offer3 });
  const busy = await ch3.next(m => m.type === 'error', 3000);
  ok(a3 && busy && busy.code === 'busy', 'call, hangup at once, call again: answered; a second call is busy', { a3: !!a3, busy });
  ch3.send({ type: 'hangup' });
  await page.evaluate(() => jn.pc.close());
  ch3.close();

  // ---- a browser that disappears: consent expires ----
  const before = childPids();
  browser2 = await launchBrowser({ audioFile: tone });
  const roots = childPids().filter(p => !before.includes(p));
  const page2 = await browser2.newPage();
  await page2.goto(`http://127.0.0.1:${HTTP}/`);
  await page2.evaluate(pageSetup);
  // This call trickles its candidates (the offer has none).
  const ch4 = await channel();
  const offer4 = await page2.evaluate(() => jnOfferTrickle());
  ch4.send({ type: 'call', to: 'echo', sdp: offer4 });
  const ans4 = await ch4.next(m => m.type === 'answer' || m.type === 'error', 8000);
  if (ans4 && ans4.type === 'answer') await page2.evaluate(s => jnAnswer(s), ans4.sdp);
  let trickled = 0, ended = false;
  for (let i = 0; i < 40 && !ended; i++) {
    for (const c of await page2.evaluate(() => jnTakeCandidates())) {
      ch4.send({ type: 'candidate', candidate: c ? c.candidate : null, sdpMid: c ? c.sdpMid : null });
      if (c) trickled++; else ended = true;
    }
    if (!ended) await sleep(100);
  }
  ok(ans4 && ans4.type === 'answer' && !/a=candidate/.test(offer4) && trickled > 0 && ended &&
     await page2.evaluate(() => jnWait('conn', 10000)), `second browser connected with ${trickled} trickled candidates + end`, ans4);
  const procs = descendants(roots); // now, with its renderer and utility processes
  ok(procs.length > 1, `found the second browser's processes (${procs.length})`);
  for (const p of procs) try { process.kill(p, 'SIGSTOP'); } catch { /* gone */ }
  const t0 = Date.now();
  const hup4 = await ch4.next(m => m.type === 'hangup', 15000);
  ok(hup4 && /consent expired/.test(hup4.reason), `frozen browser noticed after ${((Date.now() - t0) / 1000).toFixed(1)} s (consent_timeout 5)`, hup4);
  for (const p of procs) try { process.kill(p, 'SIGKILL'); } catch { /* gone */ }
  browser2 = null;
  ch4.close();
  ok(jn.exitCode === null, 'junction still running');
} catch (e) {
  ok(false, `unexpected error: ${e.stack}`, junctionLog());
} finally {
  if (browser) await browser.close().catch(() => {});
  if (browser2) await browser2.close().catch(() => {});
  const code = await stopJunction(jn);
  ok(code === 0, 'junction exits cleanly', junctionLog());
  done();
}

function childPids() {
  return execFileSync('ps', ['-o', 'pid=', '--ppid', String(process.pid)], { encoding: 'utf8' })
    .split('\n').map(s => parseInt(s, 10)).filter(n => n > 0);
}
function descendants(roots) {
  const rows = execFileSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' }).trim().split('\n')
    .map(l => l.trim().split(/\s+/).map(Number));
  const out = [...roots];
  for (let i = 0; i < out.length; i++) for (const [p, pp] of rows) if (pp === out[i] && !out.includes(p)) out.push(p);
  return out;
}
