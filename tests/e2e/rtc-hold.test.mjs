// Hold and resume between headless Chromium (a raw RTCPeerConnection, no
// JsSIP) and one rtc_pc in echo mode (tests/e2e/rtc_hold_peer.c, driven
// over stdin/stdout: no call layer). We put the browser on hold with
// rtc_pc_reoffer(sendonly) and take it off; the browser puts us on hold
// (sendonly offer: we must answer recvonly and send nothing) and resumes.
// After each resume the echo flows again with no SRTP error on our side,
// and the tone comes back. See docs/webrtc.md "Hold, resume and re-offers".
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { plan, ok, done, diag, launchBrowser, analyse } from './lib.mjs';

const sleep = ms => new Promise(r => setTimeout(r, ms));
const BUILD = process.env.JN_BUILDDIR;
const HELPER = path.join(BUILD, 'tests', 'e2e', 'rtc-hold-peer');

// The helper: send(obj), next(pred, ms) waits for a line matching pred.
function helper() {
  if (!fs.existsSync(HELPER)) // built by make check; build it if the tree was only made
    execFileSync('make', ['-C', BUILD, 'tests/e2e/rtc-hold-peer'], { stdio: 'ignore' });
  const proc = spawn(HELPER, [], { stdio: ['pipe', 'pipe', fs.openSync(path.join(process.env.JN_WORK || '/tmp', 'helper.log'), 'w')] });
  const queue = [], waiters = [];
  readline.createInterface({ input: proc.stdout }).on('line', l => {
    const msg = JSON.parse(l);
    const i = waiters.findIndex(w => w.pred(msg));
    if (i >= 0) waiters.splice(i, 1)[0].res(msg); else queue.push(msg);
  });
  return {
    proc,
    send: o => proc.stdin.write(JSON.stringify(o) + '\n'),
    next: (pred, ms = 5000) => new Promise(res => {
      const i = queue.findIndex(pred);
      if (i >= 0) return res(queue.splice(i, 1)[0]);
      const w = { pred, res };
      waiters.push(w);
      setTimeout(() => { const k = waiters.indexOf(w); if (k >= 0) { waiters.splice(k, 1); res(null); } }, ms);
    }),
  };
}

// In the page: a peer connection sending a 440 Hz oscillator.
const pageSetup = () => {
  window.jn = {};
  const gathered = () => Promise.race([
    new Promise(r => { if (jn.pc.iceGatheringState === 'complete') r(); jn.pc.onicegatheringstatechange = () => jn.pc.iceGatheringState === 'complete' && r(); }),
    new Promise(r => setTimeout(r, 3000))]);
  window.jnOffer = async () => {
    const ac = new AudioContext({ sampleRate: 48000 });
    const osc = ac.createOscillator();
    osc.frequency.value = 440;
    const gain = ac.createGain();
    gain.gain.value = 0.5;
    const dst = ac.createMediaStreamDestination();
    osc.connect(gain).connect(dst);
    osc.start();
    const pc = new RTCPeerConnection();
    pc.addTrack(dst.stream.getAudioTracks()[0], dst.stream);
    jn.pc = pc; jn.ac = ac;
    pc.ontrack = e => { jn.remote = e.track; };
    await pc.setLocalDescription(await pc.createOffer());
    await gathered();
    return pc.localDescription.sdp;
  };
  window.jnAnswer = async sdp => { await jn.pc.setRemoteDescription({ type: 'answer', sdp }); };
  // Our re-offer: the browser answers it.
  window.jnTakeOffer = async sdp => {
    try {
      await jn.pc.setRemoteDescription({ type: 'offer', sdp });
      await jn.pc.setLocalDescription(await jn.pc.createAnswer());
      return { sdp: jn.pc.localDescription.sdp };
    } catch (e) { return { error: String(e) }; }
  };
  // The browser's own hold/resume re-offer.
  window.jnReoffer = async dir => {
    jn.pc.getTransceivers()[0].direction = dir;
    await jn.pc.setLocalDescription(await jn.pc.createOffer());
    return jn.pc.localDescription.sdp;
  };
  window.jnWait = async ms => {
    const t0 = Date.now();
    while (Date.now() - t0 < ms) {
      if (jn.pc.connectionState === 'connected') return true;
      await new Promise(r => setTimeout(r, 50));
    }
    return false;
  };
  window.jnStats = async () => {
    const out = { state: jn.pc.connectionState, current: jn.pc.getTransceivers()[0].currentDirection };
    (await jn.pc.getStats()).forEach(s => {
      if (s.type === 'outbound-rtp' && s.kind === 'audio') out.sent = s.packetsSent;
      if (s.type === 'inbound-rtp' && s.kind === 'audio') { out.received = s.packetsReceived; out.lost = s.packetsLost; }
    });
    out.sent = out.sent || 0; out.received = out.received || 0;
    return out;
  };
  // ~1 s of the remote track's samples through WebAudio.
  window.jnCapture = async () => {
    const stream = new MediaStream([jn.remote]);
    const a = new Audio(); a.srcObject = stream; a.muted = true; await a.play().catch(() => {}); jn.audio = a;
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

// Packets sent and received by the browser over ms.
async function flow(page, ms) {
  const a = await page.evaluate(() => jnStats());
  await sleep(ms);
  const b = await page.evaluate(() => jnStats());
  return { sent: b.sent - a.sent, recv: b.received - a.received, a, b };
}

async function stats(h) {
  h.send({ stats: true });
  const m = await h.next(x => x.stats, 3000);
  return m ? m.stats : {};
}

const attr = (sdp, re) => (re.exec(sdp || '') || [])[1];
const version = sdp => Number(attr(sdp, /^o=\S+ \S+ (\d+)/m));

plan(13);
let browser, h;
try {
  h = helper();
  browser = await launchBrowser();
  const page = await browser.newPage();
  page.on('pageerror', e => diag(`page error: ${e.message}`));
  await page.evaluate(pageSetup);

  // ---- the call ----
  h.send({ offer: await page.evaluate(() => jnOffer()) });
  const ans = await h.next(m => m.answer || m.error, 8000);
  if (ans && ans.answer) await page.evaluate(s => jnAnswer(s), ans.answer);
  const up = await page.evaluate(() => jnWait(10000));
  ok(ans && ans.answer && up, 'browser offer answered by rtc_pc; connected', ans);
  if (!up) throw new Error('no connection: the rest cannot run');
  await sleep(1000);
  const f0 = await flow(page, 2000);
  ok(f0.sent > 50 && f0.recv >= 0.9 * f0.sent, `echo: ${f0.recv} of ${f0.sent} packets back`, f0);

  // ---- we hold the browser: rtc_pc_reoffer(sendonly) ----
  h.send({ reoffer: 'sendonly' });
  const ro = await h.next(m => m.offer || m.error, 3000);
  const ros = ro && ro.offer;
  ok(ros && /a=sendonly/.test(ros) && /a=setup:passive/.test(ros) && version(ros) === version(ans.answer) + 1 &&
     attr(ros, /a=ice-ufrag:(\S+)/) === attr(ans.answer, /a=ice-ufrag:(\S+)/) &&
     attr(ros, /a=fingerprint:(.+)/) === attr(ans.answer, /a=fingerprint:(.+)/) &&
     attr(ros, /a=ssrc:(\d+)/) === attr(ans.answer, /a=ssrc:(\d+)/) && /a=candidate:/.test(ros),
     're-offer: sendonly, setup:passive (role kept), o= version + 1, same ICE, fingerprint, ssrc, candidates', ro);
  const ba = ros ? await page.evaluate(s => jnTakeOffer(s), ros) : {};
  h.send({ answer: ba.sdp || '' });
  const acc = await h.next(m => m.ok || m.error, 3000);
  ok(ba.sdp && /a=recvonly/.test(ba.sdp) && acc && acc.ok, 'Chromium answers our hold re-offer recvonly; rtc_pc_set_answer takes it', { ba, acc });
  await sleep(500);
  const f1 = await flow(page, 2000);
  const s1 = await stats(h);
  ok(f1.b.current === 'recvonly' && f1.recv <= 5 && s1.local_dir === 'sendonly' && s1.remote_dir === 'recvonly',
     `held: the browser is ${f1.b.current}, sends ${f1.sent}, ${f1.recv} back; we are ${s1.local_dir}`, { f1, s1 });

  // ---- we take it off hold ----
  h.send({ reoffer: 'sendrecv' });
  const ro2 = await h.next(m => m.offer || m.error, 3000);
  const ba2 = ro2 && ro2.offer ? await page.evaluate(s => jnTakeOffer(s), ro2.offer) : {};
  h.send({ answer: ba2.sdp || '' });
  const acc2 = await h.next(m => m.ok || m.error, 3000);
  await sleep(1000);
  const f2 = await flow(page, 2000);
  const s2 = await stats(h);
  ok(acc2 && acc2.ok && /a=sendrecv/.test(ba2.sdp || '') && f2.sent > 50 && f2.recv >= 0.9 * f2.sent && s2.srtp_errors === 0,
     `resumed: ${f2.recv} of ${f2.sent} back, ${s2.srtp_errors} SRTP errors`, { ro2, acc2, f2, s2 });
  const cap = await page.evaluate(() => jnCapture());
  const ra = analyse(cap.samples, cap.rate);
  ok(Math.abs(ra.freq - 440) <= 10 && ra.rms > 0.01, `after our resume the echo peaks at ${ra.freq} Hz (rms ${ra.rms.toFixed(3)})`, ra);

  // ---- the browser holds us: sendonly offer, we answer recvonly ----
  const bo = await page.evaluate(() => jnReoffer('sendonly'));
  h.send({ offer: bo });
  const ha = await h.next(m => m.answer || m.error, 3000);
  ok(ha && ha.answer && /a=recvonly/.test(ha.answer) && !/a=sendrecv/.test(ha.answer), 'browser hold offer (sendonly) answered recvonly', ha);
  if (ha && ha.answer) await page.evaluate(s => jnAnswer(s), ha.answer);
  await sleep(500);
  const f3 = await flow(page, 2000);
  const s3 = await stats(h);
  ok(f3.b.current === 'sendonly' && f3.sent > 50 && f3.recv <= 5 && s3.rtp_held > 50 && s3.local_dir === 'recvonly' && s3.remote_dir === 'sendonly',
     `browser holds us: it sends ${f3.sent}, gets ${f3.recv} back; we held ${s3.rtp_held} packets`, { f3, s3 });

  // ---- the browser resumes ----
  const bo2 = await page.evaluate(() => jnReoffer('sendrecv'));
  h.send({ offer: bo2 });
  const ha2 = await h.next(m => m.answer || m.error, 3000);
  if (ha2 && ha2.answer) await page.evaluate(s => jnAnswer(s), ha2.answer);
  ok(ha2 && ha2.answer && /a=sendrecv/.test(ha2.answer), 'browser resume offer answered sendrecv', ha2);
  await sleep(1000);
  const f4 = await flow(page, 2000);
  const s4 = await stats(h);
  ok(f4.sent > 50 && f4.recv >= 0.9 * f4.sent && s4.srtp_errors === 0 && f4.b.state === 'connected',
     `resumed by the browser: ${f4.recv} of ${f4.sent} back, ${s4.srtp_errors} SRTP errors on our side`, { f4, s4 });
  const cap2 = await page.evaluate(() => jnCapture());
  const rb = analyse(cap2.samples, cap2.rate);
  ok(Math.abs(rb.freq - 440) <= 10 && rb.rms > 0.01, `after the browser's resume the echo peaks at ${rb.freq} Hz`, rb);
  await browser.close();
  browser = null;
  h.proc.stdin.end();
  const code = await new Promise(r => { h.proc.on('exit', c => r(c)); setTimeout(() => r('timeout'), 5000); });
  ok(code === 0, `the helper ends cleanly on EOF (exit ${code}; ASan checks leaks)`);
  h = null;
} catch (e) {
  ok(false, `exception: ${e.stack || e}`);
} finally {
  if (browser) await browser.close().catch(() => {});
  if (h) { h.proc.stdin.end(); await new Promise(r => { h.proc.on('exit', r); setTimeout(r, 3000); }); }
  done();
}
