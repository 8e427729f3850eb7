// Shared helpers for browser tests: TAP output, starting junction, and
// launching Debian's headless Chromium with the flags WebRTC over loopback
// needs (see docs/testing.md). Tests run inside tests/lib/netns.sh.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const SRCDIR = process.env.JN_SRCDIR;
export const WORK = process.env.JN_WORK || fs.mkdtempSync('/tmp/jn-e2e-');
export const JUNCTION = process.env.JUNCTION;

let n = 0, failed = 0;
export function plan(count) { console.log(`1..${count}`); }
export function ok(cond, desc, diag) {
  n++;
  if (cond) console.log(`ok ${n} - ${desc}`);
  else {
    failed++;
    console.log(`not ok ${n} - ${desc}`);
    if (diag !== undefined) console.log(String(typeof diag === 'string' ? diag : JSON.stringify(diag)).split('\n').map(l => `# ${l}`).join('\n'));
  }
  return cond;
}
export function diag(msg) { console.log(String(msg).split('\n').map(l => `# ${l}`).join('\n')); }
export function done() { process.exitCode = failed ? 1 : 0; }

// Writes text to WORK/name and returns the path.
export function writeFile(name, text) {
  const p = path.join(WORK, name);
  fs.writeFileSync(p, text);
  return p;
}

// A mono 16-bit WAV of a sine tone (for --use-file-for-fake-audio-capture).
export function toneWav(name, freq, seconds = 10, rate = 48000, amplitude = 0.5) {
  const samples = Math.round(seconds * rate);
  const buf = Buffer.alloc(44 + samples * 2);
  buf.write('RIFF', 0); buf.writeUInt32LE(36 + samples * 2, 4); buf.write('WAVE', 8);
  buf.write('fmt ', 12); buf.writeUInt32LE(16, 16); buf.writeUInt16LE(1, 20); buf.writeUInt16LE(1, 22);
  buf.writeUInt32LE(rate, 24); buf.writeUInt32LE(rate * 2, 28); buf.writeUInt16LE(2, 32); buf.writeUInt16LE(16, 34);
  buf.write('data', 36); buf.writeUInt32LE(samples * 2, 40);
  for (let i = 0; i < samples; i++)
    buf.writeInt16LE(Math.round(amplitude * 32767 * Math.sin(2 * Math.PI * freq * i / rate)), 44 + i * 2);
  return writeFile(name, buf);
}

// Starts junction with the given config text; resolves when /api/v1/health answers.
export async function startJunction(configText, { httpPort = 8080, name = 'junction' } = {}) {
  const conf = writeFile(`${name}.conf`, configText);
  const log = fs.openSync(path.join(WORK, `${name}.log`), 'w');
  const proc = spawn(JUNCTION, ['--config', conf, '--log-level', process.env.JN_LOG_LEVEL || 'debug'],
                     { stdio: ['ignore', log, log] });
  proc.exited = new Promise(res => proc.on('exit', (code, sig) => res({ code, sig })));
  for (let i = 0; i < 100; i++) {
    try {
      const r = await fetch(`http://127.0.0.1:${httpPort}/api/v1/health`);
      if (r.ok) return proc;
    } catch { /* not up yet */ }
    if (proc.exitCode !== null) break;
    await new Promise(r => setTimeout(r, 100));
  }
  throw new Error(`junction did not start; log:\n${junctionLog(name)}`);
}

export function junctionLog(name = 'junction') {
  try { return fs.readFileSync(path.join(WORK, `${name}.log`), 'utf8').split('\n').slice(-60).join('\n'); }
  catch { return '(no log)'; }
}

// Stops junction with SIGTERM; resolves with its exit code.
export async function stopJunction(proc) {
  if (!proc || proc.exitCode !== null) return proc ? proc.exitCode : 0;
  proc.kill('SIGTERM');
  const t = setTimeout(() => proc.kill('SIGKILL'), 15000);
  const r = await proc.exited;
  clearTimeout(t);
  return r.code;
}

export function chromiumPath() {
  for (const p of ['/usr/lib/chromium/chromium', '/usr/bin/chromium'])
    if (fs.existsSync(p)) return p;
  throw new Error('chromium is not installed (apt-get install chromium)');
}

// Launches headless Chromium for WebRTC over loopback. audioFile: a WAV the
// fake microphone plays (absolute path), else Chromium's periodic beep.
export async function launchBrowser({ audioFile } = {}) {
  const args = [
    '--headless=new', '--no-sandbox', '--disable-gpu',
    '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
    '--allow-loopback-in-peer-connection',
    '--disable-features=WebRtcHideLocalIpsWithMdns',
    '--autoplay-policy=no-user-gesture-required', '--mute-audio',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--no-first-run', '--disable-quic',
    '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost',
  ];
  if (audioFile) args.push(`--use-file-for-fake-audio-capture=${audioFile}`);
  return chromium.launch({ executablePath: chromiumPath(), args, ignoreDefaultArgs: ['--headless'] });
}

// JsSIP bundled for the page (built once per checkout by esbuild).
export function jssipBundle() {
  const e2e = path.join(SRCDIR, 'tests', 'e2e');
  const out = path.join(e2e, 'dist', 'jssip.js');
  if (!fs.existsSync(out))
    execFileSync(path.join(e2e, 'node_modules', '.bin', 'esbuild'),
      [path.join(e2e, 'node_modules', 'jssip', 'lib', 'JsSIP.js'), '--bundle', '--format=iife',
       '--global-name=JsSIP', `--outfile=${out}`, '--log-level=warning']);
  return fs.readFileSync(out, 'utf8');
}

// Dominant frequency (Hz) of samples (Float32Array / array) at rate, by a
// plain DFT scan from 50 Hz to 4 kHz in 5 Hz steps; also returns RMS.
export function analyse(samples, rate) {
  let sum = 0;
  for (const s of samples) sum += s * s;
  const rms = Math.sqrt(sum / Math.max(1, samples.length));
  let best = 0, bestF = 0;
  const N = Math.min(samples.length, rate); // at most one second
  for (let f = 50; f <= 4000; f += 5) {
    let re = 0, im = 0;
    const w = 2 * Math.PI * f / rate;
    for (let i = 0; i < N; i++) { re += samples[i] * Math.cos(w * i); im += samples[i] * Math.sin(w * i); }
    const p = re * re + im * im;
    if (p > best) { best = p; bestF = f; }
  }
  return { freq: bestF, rms };
}

// (import declarations are hoisted: this one serves baresipControl below.)
import net from 'node:net';

// Polls pred (sync or async) every 100 ms for up to ms; resolves with its
// last result.
export async function waitFor(pred, ms) {
  for (let t = 0; t < ms; t += 100) {
    const v = await pred();
    if (v) return v;
    await new Promise(r => setTimeout(r, 100));
  }
  return pred();
}

// Reads a 16-bit PCM WAV (first channel) into floats: { rate, samples }.
export function readWav(file) {
  const b = fs.readFileSync(file);
  let off = 12, rate = 8000, ch = 1, data = null;
  while (off + 8 <= b.length) {
    const id = b.toString('ascii', off, off + 4), sz = b.readUInt32LE(off + 4);
    if (id === 'fmt ') { ch = b.readUInt16LE(off + 10); rate = b.readUInt32LE(off + 12); }
    if (id === 'data') { data = b.subarray(off + 8, Math.min(b.length, off + 8 + sz)); break; }
    off += 8 + sz + (sz & 1);
  }
  const samples = [];
  for (let i = 0; data && i + 2 * ch <= data.length; i += 2 * ch) samples.push(data.readInt16LE(i) / 32768);
  return { rate, samples };
}

// A lasting connection to baresip's ctrl_tcp (netstring JSON both ways).
// Resolves with { events, command(cmd, params), close() }: events collects
// every event baresip reports ({type, param, ...}); command resolves with
// baresip's response (or null after 2 s).
export function baresipControl(port, host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, host);
    const events = [], waiting = new Map();
    let buf = Buffer.alloc(0), token = 0;
    sock.on('data', d => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const colon = buf.indexOf(':');
        if (colon < 0) break;
        const len = Number(buf.toString('ascii', 0, colon));
        if (buf.length < colon + 1 + len + 1) break;
        let msg = null;
        try { msg = JSON.parse(buf.toString('utf8', colon + 1, colon + 1 + len)); } catch { /* not JSON */ }
        buf = buf.subarray(colon + 1 + len + 1);
        if (!msg) continue;
        if (msg.event) events.push(msg);
        else if (msg.response && waiting.has(msg.token)) { waiting.get(msg.token)(msg); waiting.delete(msg.token); }
      }
    });
    sock.on('error', reject);
    sock.on('connect', () => resolve({
      events,
      command(command, params) {
        const t = `t${++token}`;
        const js = JSON.stringify(params === undefined ? { command, token: t } : { command, params, token: t });
        sock.write(`${Buffer.byteLength(js)}:${js},`);
        return new Promise(res => {
          waiting.set(t, res);
          setTimeout(() => { if (waiting.delete(t)) res(null); }, 2000);
        });
      },
      close() { sock.destroy(); },
    }));
  });
}

// Records the SIP a page sends and receives over WebSocket (call before the
// page loads). Resolves with an async function that returns the recorded
// messages, one line each (first line and CSeq), or whole headers with
// { full: true }; { last: N } keeps the last N.
export async function recordSip(page) {
  await page.addInitScript(() => {
    window.jnWire = [];
    const Orig = window.WebSocket;
    window.WebSocket = class extends Orig {
      constructor(...a) { super(...a); this.addEventListener('message', e => jnWire.push('< ' + String(e.data))); }
      send(d) { jnWire.push('> ' + String(d)); return super.send(d); }
    };
  });
  return ({ full = false, last = 40 } = {}) => page.evaluate(([full, last]) => jnWire.slice(-last).map(m => {
    const head = m.split('\r\n\r\n')[0];
    if (full) return head;
    const lines = head.split('\r\n');
    return lines[0] + ' | ' + (lines.find(l => /^CSeq:/i.test(l)) || '');
  }).join('\n'), [full, last]);
}

// ---- browser and baresip glue shared by the call tests ----

export const sleep = ms => new Promise(r => setTimeout(r, ms));

// Page helpers: `await page.evaluate(pageHelpers)` after the page loaded (and
// after JsSIP, for the jnStartUA/jnCall ones). Defines on window:
//   jnAudioTrack(pc): the first received audio track of an RTCPeerConnection;
//   jnCapture(track): ~1 s of that track through WebAudio after 0.2 s to
//     settle: { rate: 48000, samples } (the muted <audio> keeps a remote
//     track flowing into WebAudio);
//   jnMedia: JsSIP call/answer options: audio without echo cancellation,
//     noise suppression or gain control (they mangle test tones), no ICE servers;
//   jnStartUA(ws, user, password, { register, timeout, on, ...config }):
//     a started JsSIP UA, resolves { ua, status } with status 'ok' once
//     connected (or registered), 'registrationFailed CAUSE' or 'timeout';
//     `on` holds UA event handlers attached before it starts;
//   jnCall(ua, target, { timeout, on, ...options }): calls sip:target@127.0.0.1,
//     returns { session, result }: result resolves 'confirmed',
//     'failed STATUS CAUSE' or 'timeout'; `on` adds session event handlers;
//   jnHangup(session): terminates it, resolves 'ended CAUSE' or 'timeout';
//   jnRtpStats(pc): the audio RTP packets a peer connection sent and
//     received (after SRTP: one that does not decrypt is not counted) and
//     its DTLS state: { sent, received, dtlsState }.
export function pageHelpers() {
  window.jnAudioTrack = pc => pc.getReceivers().map(r => r.track).find(t => t && t.kind === 'audio');
  window.jnCapture = async track => {
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
  window.jnMedia = { mediaConstraints: { audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false }, video: false },
                     pcConfig: { iceServers: [] } };
  window.jnStartUA = (ws, user, password, { register = false, timeout = 8000, on = {}, ...config } = {}) => new Promise(res => {
    const ua = new JsSIP.UA({ sockets: [new JsSIP.WebSocketInterface(ws)], uri: `sip:${user}@127.0.0.1`, password,
                              register, session_timers: false, ...config });
    const t = setTimeout(() => res({ ua, status: 'timeout' }), timeout);
    for (const [ev, fn] of Object.entries(on)) ua.on(ev, fn);
    ua.on(register ? 'registered' : 'connected', () => { clearTimeout(t); res({ ua, status: 'ok' }); });
    ua.on('registrationFailed', e => { clearTimeout(t); res({ ua, status: `registrationFailed ${e.cause}` }); });
    ua.start();
  });
  window.jnCall = (ua, target, { timeout = 15000, on = {}, ...options } = {}) => {
    let session;
    const result = new Promise(res => {
      const t = setTimeout(() => res('timeout'), timeout);
      const eventHandlers = { ...on,
        confirmed: e => { if (on.confirmed) on.confirmed(e); clearTimeout(t); res('confirmed'); },
        failed: e => { if (on.failed) on.failed(e); clearTimeout(t); res(`failed ${e.message && e.message.status_code} ${e.cause}`); } };
      session = ua.call(`sip:${target}@127.0.0.1`, { ...jnMedia, ...options, eventHandlers });
    });
    return { session, result };
  };
  window.jnHangup = session => new Promise(res => {
    const t = setTimeout(() => res('timeout'), 5000);
    session.on('ended', e => { clearTimeout(t); res('ended ' + e.cause); });
    session.terminate();
  });
  window.jnRtpStats = async pc => {
    const r = { sent: 0, received: 0 };
    (await pc.getStats()).forEach(s => {
      if (s.type === 'outbound-rtp' && s.kind === 'audio') r.sent += s.packetsSent;
      if (s.type === 'inbound-rtp' && s.kind === 'audio') r.received += s.packetsReceived;
      if (s.type === 'transport') r.dtlsState = s.dtlsState;
    });
    return r;
  };
}

// Opens a page of browser on junction's web server (127.0.0.1:httpPort)
// with JsSIP (unless jssip is false) and pageHelpers loaded, then runs
// setup (a function) in it. The page's script errors collect in errors;
// with record, wire is recordSip's reader of the page's SIP.
export async function openPage(browser, httpPort, setup, { jssip = true, record = false } = {}) {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', e => errors.push(e.message));
  const wire = record ? await recordSip(page) : null;
  await page.goto(`http://127.0.0.1:${httpPort}/`);
  if (jssip) await page.addScriptTag({ content: jssipBundle() });
  await page.evaluate(pageHelpers);
  if (setup) await page.evaluate(setup);
  return { page, errors, wire };
}

// Runs fn(arg) in the page, which resolves with captured audio ({ rate,
// samples }), and returns analyse() of it.
export async function pageHears(page, fn, arg) {
  const x = await page.evaluate(fn, arg);
  return analyse(x.samples, x.rate);
}

// Starts baresip from its own folder WORK/name: SIP on 127.0.0.1:port
// (and SIP/TLS on port + 1), ctrl_tcp on ctrl, RTP in the range rtp
// ("LOW-HIGH"), playing the 8 kHz WAV wav through aufile and recording what
// it hears into snd/ (sndfile); accounts: one account line or a list;
// modules: more module names (e.g. 'opus', 'srtp'); args: before -f.
// Returns { proc, dir, snd, log(), stop(signal) }: stop sends signal
// (SIGTERM) and SIGKILL if it still runs 3 s later (baresip waits for its
// calls to close), and keeps its output in WORK/name.log.
export function startBaresip({ name = 'baresip', port, ctrl, rtp, wav, accounts, modules = [], args = [] }) {
  const dir = path.join(WORK, name), snd = path.join(dir, 'snd');
  fs.mkdirSync(snd, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config'), [
    `sip_listen 127.0.0.1:${port}`, 'net_interface 127.0.0.1', 'dns_server 127.0.0.1:53',
    `rtp_ports ${rtp}`, `audio_source aufile,${wav}`, 'audio_player alsa,null', `snd_path ${snd}`,
    'module_path /usr/lib/baresip/modules',
    ...['g711', ...modules, 'aufile', 'alsa', 'sndfile', 'account', 'ctrl_tcp', 'menu'].map(m => `module ${m}.so`),
    `ctrl_tcp_listen 127.0.0.1:${ctrl}`, ''].join('\n'));
  fs.writeFileSync(path.join(dir, 'accounts'), [].concat(accounts).join('\n') + '\n');
  const proc = spawn('baresip', [...args, '-f', dir], { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise(r => proc.on('exit', r));
  let text = '';
  proc.stdout.on('data', d => { text += d; });
  proc.stderr.on('data', d => { text += d; });
  return {
    proc, dir, snd,
    log: () => text,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill(signal);
        if (await Promise.race([exited.then(() => true), sleep(3000)]) !== true) proc.kill('SIGKILL');
      }
      fs.writeFileSync(path.join(WORK, `${name}.log`), text);
    },
  };
}

// The newest recording of what a baresip heard (sndfile's "*-dec.wav" in
// its snd folder) as { rate, samples }, or null.
export function decodedWav(snd) {
  const f = fs.readdirSync(snd).filter(n => /dec\.wav$/.test(n)).sort().pop();
  return f ? readWav(path.join(snd, f)) : null;
}

// analyse() of the seconds [from, to) of a recording; 0 Hz, rms 0 without one.
export function analyseWav(w, from = 0, to = Infinity) {
  if (!w) return { freq: 0, rms: 0 };
  return analyse(w.samples.slice(Math.round(from * w.rate), Math.round(to * w.rate)), w.rate);
}

// The CDR lines (JSON) junction wrote to file so far.
export function cdrLines(file) {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map(l => JSON.parse(l)) : [];
}

// Closes what a test started, in order, each that is there: browsers and
// baresip ctrl connections (close()), baresips (stop()).
export async function closeAll(...things) {
  for (const x of things) {
    if (!x) continue;
    try { await (x.stop ? x.stop() : x.close()); } catch (e) { diag(`closing: ${e.message}`); }
  }
}
