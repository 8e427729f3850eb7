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
import net from 'node:net';
import { plan, ok, done, diag, WORK, startJunction, stopJunction, launchBrowser, jssipBundle, junctionLog, toneWav, analyse } from './lib.mjs';

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
const sleep = ms => new Promise(r => setTimeout(r, ms));

// baresip as the trunk.
const BDIR = path.join(WORK, 'baresip');
const SND = path.join(BDIR, 'snd');
fs.mkdirSync(SND, { recursive: true });
fs.writeFileSync(path.join(BDIR, 'config'), [
  `sip_listen 127.0.0.1:${TRUNKPORT}`, 'net_interface 127.0.0.1', 'dns_server 127.0.0.1:53',
  'rtp_ports 26100-26199', `audio_source aufile,${toneWav('tone880.wav', 880, 60, 8000)}`, 'audio_player alsa,null', `snd_path ${SND}`,
  'module_path /usr/lib/baresip/modules', 'module g711.so', 'module opus.so', 'module aufile.so',
  'module alsa.so', 'module sndfile.so', 'module account.so', 'module ctrl_tcp.so', 'module menu.so',
  `ctrl_tcp_listen 127.0.0.1:${CTRL}`, ''].join('\n'));
fs.writeFileSync(path.join(BDIR, 'accounts'),
  `<sip:trunk@127.0.0.1:${TRUNKPORT}>;regint=0;answermode=auto;audio_codecs=PCMU,PCMA\n` +
  `<sip:slow@127.0.0.1:${TRUNKPORT}>;regint=0;answermode=manual;audio_codecs=PCMU,PCMA\n`);

const pageSetup = () => {
  window.jn = {};
  jn.start = (ws, user, password) => new Promise(res => {
    const ua = new JsSIP.UA({ sockets: [new JsSIP.WebSocketInterface(ws)], uri: `sip:${user}@127.0.0.1`, password,
                              register: false, session_timers: false });
    jn.ua = ua;
    const t = setTimeout(() => res('timeout'), 8000);
    ua.on('connected', () => { clearTimeout(t); res('ok'); });
    ua.start();
  });
  jn.call = target => new Promise(res => {
    const t = setTimeout(() => res('timeout'), 15000);
    jn.session = jn.ua.call(`sip:${target}@127.0.0.1`, {
      mediaConstraints: { audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false }, video: false },
      pcConfig: { iceServers: [] },
      eventHandlers: {
        confirmed: () => { clearTimeout(t); res('confirmed'); },
        failed: e => { clearTimeout(t); res(`failed ${e.message && e.message.status_code} ${e.cause}`); },
      },
    });
  });
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
  jn.hangup = () => new Promise(res => {
    const t = setTimeout(() => res('timeout'), 5000);
    jn.session.on('ended', e => { clearTimeout(t); res('ended ' + e.cause); });
    jn.session.terminate();
  });
};

// Reads a 16-bit PCM WAV (first channel) into floats.
function readWav(file) {
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

// One ctrl_tcp command (netstring JSON) to baresip.
function baresipCommand(command) {
  return new Promise((res, rej) => {
    const js = JSON.stringify({ command, token: 't1' });
    const sock = net.connect(CTRL, '127.0.0.1', () => sock.write(`${Buffer.byteLength(js)}:${js},`));
    sock.on('data', () => { sock.end(); res(); });
    sock.on('error', rej);
    setTimeout(() => { sock.destroy(); res(); }, 1000);
  });
}

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

const cdrLines = () => (fs.existsSync(CDR) ? fs.readFileSync(CDR, 'utf8').split('\n').filter(Boolean).map(l => JSON.parse(l)) : []);
async function waitFor(pred, ms) {
  for (let t = 0; t < ms; t += 100) { if (pred()) return true; await sleep(100); }
  return pred();
}

let jn, browser, bs, blog = '';
try {
  bs = spawn('baresip', ['-f', BDIR], { stdio: ['pipe', 'pipe', 'pipe'] });
  bs.stdout.on('data', d => { blog += d; });
  bs.stderr.on('data', d => { blog += d; });
  await sleep(500);
  jn = await startJunction(conf, { httpPort: HTTP });
  browser = await launchBrowser({ audioFile: toneWav('tone440.wav', 440, 30) });
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${HTTP}/`);
  await page.addScriptTag({ content: jssipBundle() });
  await page.evaluate(pageSetup);
  const st = await page.evaluate(([ws]) => jn.start(ws, 'erin', 'er1n-secret'), [WSURL]);
  const res = await page.evaluate(() => jn.call('0123'));
  ok(st === 'ok' && res === 'confirmed', `the call to 0123 (trunk:itsp) is confirmed (${res})`, blog + junctionLog());
  await sleep(3000);
  const remote = await page.evaluate(() => jn.capture());
  const ra = analyse(remote.samples, remote.rate);
  ok(Math.abs(ra.freq - 880) <= 15 && ra.rms > 0.01, `the browser hears the trunk's tone: peak ${ra.freq} Hz, rms ${ra.rms.toFixed(3)}`, ra);
  await sleep(1000);
  const blogBefore = blog.length;
  const hung = await page.evaluate(() => jn.hangup());
  ok(hung === 'ended Terminated', `the browser hangs up (${hung})`);
  // baresip 1.0 reports a BYE it received as "session closed: Connection reset by peer".
  const byeSeen = await waitFor(() => /session closed: Connection reset by peer/.test(blog.slice(blogBefore)), 3000);
  ok(byeSeen, 'baresip sees the call end (BYE from junction)', blog);
  diag('baresip: ' + blog.split('\n').filter(l => /closed|terminated|BYE/i.test(l)).join(' | '));
  await sleep(500);
  const wavs = fs.readdirSync(SND).filter(f => /\.wav$/.test(f));
  // sndfile writes "dump-...-dec.wav" for what it received (decoded).
  const dec = wavs.find(f => /dec/.test(f));
  let wa = { freq: 0, rms: 0 }, secs = 0;
  if (dec) {
    const w = readWav(path.join(SND, dec));
    secs = w.samples.length / w.rate;
    wa = analyse(w.samples.slice(Math.round(w.rate * 1.5)), w.rate);
  }
  ok(dec && Math.abs(wa.freq - 440) <= 15 && wa.rms > 0.01, `baresip heard the browser's tone: peak ${wa.freq} Hz, rms ${wa.rms.toFixed(3)}, ${secs.toFixed(1)} s recorded`, { wavs, wa });
  ok(await waitFor(() => cdrLines().length === 1, 3000), 'one CDR line', cdrLines());
  const c = cdrLines()[0] || {};
  ok(c.target === 'trunk:itsp' && c.number === 'trunk' && c.cause === 'normal' && c.media === 'transcode' &&
     c.legs && c.legs[1] && c.legs[1].kind === 'rtp' && c.legs[1].packets_received > 50 && c.legs[1].packets_sent > 50,
     `CDR: target ${c.target}, cause ${c.cause}, media ${c.media}`, c);

  // ---- the trunk hangs up: its BYE reaches the browser ----
  const r2 = await page.evaluate(() => { jn.ended = null; return jn.call('0123'); });
  await page.evaluate(() => jn.session.on('ended', e => { jn.ended = `${e.originator} ${e.cause}`; }));
  await sleep(1000);
  await baresipCommand('hangup');
  let ended = null;
  for (let i = 0; i < 50 && !ended; i++) { await sleep(100); ended = await page.evaluate(() => jn.ended); }
  ok(r2 === 'confirmed' && ended === 'remote Terminated', `the trunk hangs up: the browser gets BYE (${r2}, ended: ${ended})`, blog);
  ok(await waitFor(() => cdrLines().length === 2, 3000) && cdrLines()[1].cause === 'normal' && cdrLines()[1].reason === 'callee hung up',
     'its CDR line: normal, callee hung up', cdrLines()[1]);

  // ---- the trunk refuses: its code reaches the browser ----
  const r3 = await page.evaluate(() => jn.call('1234'));
  ok(/^failed 404/.test(r3), `baresip's 404 for an unknown user goes back to the browser (${r3})`);
  ok(await waitFor(() => cdrLines().length === 3, 3000) && cdrLines()[2].sip_code === 404 && cdrLines()[2].cause === 'rejected',
     'its CDR line: rejected, 404', cdrLines()[2]);

  // ---- the trunk rings for 8 s: the browser leg (183 with our answer) stays up ----
  const pending = page.evaluate(() => jn.call('2000'));
  await sleep(2000);
  // [trunk:itsp] max_calls = 1: a second call while this one rings is refused.
  const busy = await page.evaluate(() => new Promise(res => {
    setTimeout(() => res('timeout'), 6000);
    jn.ua.call('sip:0123@127.0.0.1', { mediaConstraints: { audio: true, video: false }, pcConfig: { iceServers: [] },
      eventHandlers: { failed: e => res(`failed ${e.message && e.message.status_code}`), confirmed: () => res('confirmed') } });
  }));
  ok(busy === 'failed 503' && await waitFor(() => cdrLines().length === 4 && cdrLines()[3].sip_code === 503, 3000),
     `a second call beyond the trunk's max_calls = 1 gets 503 (${busy})`, cdrLines()[3]);
  await sleep(6000);
  await baresipCommand('accept');
  const r4 = await pending;
  await sleep(1500);
  const heard = r4 === 'confirmed' ? analyse(...Object.values(await page.evaluate(async () => { const x = await jn.capture(); return { s: x.samples, r: x.rate }; }))) : { freq: 0, rms: 0 };
  ok(r4 === 'confirmed' && Math.abs(heard.freq - 880) <= 15 && heard.rms > 0.01,
     `answered after 8 s of ringing: confirmed, the browser hears ${heard.freq} Hz (${r4})`, junctionLog());
  const h4 = await page.evaluate(() => jn.hangup());
  ok(h4 === 'ended Terminated' && await waitFor(() => cdrLines().length === 5 && cdrLines()[4].media === 'transcode', 3000),
     'hung up; CDR transcode', cdrLines()[4]);

  // ---- the browser gives up while the trunk rings: CANCEL on both legs ----
  const blogC = blog.length;
  const pc = page.evaluate(() => jn.call('2001'));
  await sleep(2000);
  await page.evaluate(() => jn.session.terminate());
  const r5 = await pc;
  const cancelled = await waitFor(() => /session closed/.test(blog.slice(blogC)), 3000);
  ok(/Canceled$/.test(r5) && cancelled, `the browser cancels (${r5}): baresip's ringing call ends (CANCEL)`, blog.slice(blogC));
  ok(await waitFor(() => cdrLines().length === 6 && cdrLines()[5].cause === 'cancelled', 3000),
     'its CDR line: cancelled', cdrLines()[5]);

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
  ok(await waitFor(() => cdrLines().length === 7 && cdrLines()[6].cause === 'busy' && cdrLines()[6].sip_code === 486 &&
                   cdrLines()[6].target === 'trunk:auth', 3000), 'its CDR line: busy, 486, target trunk:auth', cdrLines()[6]);
} catch (e) {
  ok(false, `unexpected error: ${e.stack || e.message}`, junctionLog());
} finally {
  if (browser) await browser.close();
  if (bs) bs.kill('SIGTERM');
  fs.writeFileSync(path.join(WORK, 'baresip.log'), blog);
  const code = await stopJunction(jn);
  if (code !== 0) diag(`junction exited with ${code}\n${junctionLog()}`);
  done();
}
