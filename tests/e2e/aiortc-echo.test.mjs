// A second WebRTC stack: aiortc (Debian's python3-aiortc, signalling with
// python3-websockets) calls junction's echo through the JSON channel.
// aiortc offers only AES_CM_128_HMAC_SHA1_80, so this also covers the SRTP
// profile fallback.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { plan, ok, done, diag, startJunction, stopJunction, junctionLog, SRCDIR } from './lib.mjs';

const HTTP = 18380, WS = 18381;
const conf = `[api]\nhttp_listen = 127.0.0.1:${HTTP}\n[websocket]\nlisten = 127.0.0.1:${WS}\n` +
  `[sip]\nudp_listen = 127.0.0.1:15360\ntcp_listen = 127.0.0.1:15360\n` +
  `[webrtc]\nlocal_addresses = 127.0.0.1\nport_min = 25000\nport_max = 25999\n`;

plan(8);
let jn;
try {
  jn = await startJunction(conf, { httpPort: HTTP });
  const script = path.join(SRCDIR, 'tests', 'e2e', 'aiortc-echo.py');
  const res = await new Promise(resolve => execFile('/usr/bin/python3', [script, `ws://127.0.0.1:${WS}/`, '4'],
    { timeout: 60000 }, (err, stdout, stderr) => resolve({ err, stdout, stderr })));
  let r = {};
  try { r = JSON.parse(res.stdout.trim().split('\n').pop()); } catch { diag(`aiortc output: ${res.stdout}\n${res.stderr}`); }
  ok(r.answer === true, 'aiortc got an answer', r);
  ok(r.connected === true, 'aiortc connected (ICE + DTLS)', r);
  ok(/\[pc\] \(c[0-9a-f]+\) connected: .*, AES_CM_128_HMAC_SHA1_80,/.test(junctionLog()),
     'SRTP profile falls back to AES_CM_128_HMAC_SHA1_80 (junction log)', junctionLog());
  ok(r.sent > 100 && r.received >= 0.95 * r.sent, `${r.received} of ${r.sent} packets came back`, r);
  ok(Math.abs(r.peak_hz - 440) <= 10, `echoed audio peaks at ${r.peak_hz && r.peak_hz.toFixed(1)} Hz`, r);
  if (res.err) diag(`aiortc: ${res.err.message}\n${res.stderr.slice(-2000)}`);

  // Three calls at once: spread over both media workers, each echoed.
  const runs = await Promise.all([0, 1, 2].map(() => new Promise(resolve =>
    execFile('/usr/bin/python3', [script, `ws://127.0.0.1:${WS}/`, '3'], { timeout: 60000 },
      (err, stdout) => { try { resolve(JSON.parse(stdout.trim().split('\n').pop())); } catch { resolve({}); } }))));
  ok(runs.every(x => x.connected && x.sent > 50 && x.received >= 0.95 * x.sent),
     `3 concurrent calls echoed: ${runs.map(x => `${x.received}/${x.sent}`).join(', ')}`, runs);
  const log = junctionLog('junction');
  ok(/on worker 0/.test(log) && /on worker 1/.test(log), 'calls were placed on both media workers', log);
} catch (e) {
  ok(false, `unexpected error: ${e.stack}`, junctionLog());
} finally {
  const code = await stopJunction(jn);
  ok(code === 0, 'junction exits cleanly', junctionLog());
  done();
}
