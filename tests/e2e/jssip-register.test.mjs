// JsSIP in headless Chromium registers over WebSocket (RFC 7118) with
// digest auth as a [user:NAME] from the config: REGISTER -> 401 ->
// REGISTER -> 200 ("registered"), then un-registers (Expires 0 -> 200).
// A wrong password must not register.
import { plan, ok, done, diag, startJunction, stopJunction, launchBrowser, jssipBundle, junctionLog } from './lib.mjs';

plan(7);
const WS = 'ws://127.0.0.1:18381';
// JsSIP 3.x answers only the first WWW-Authenticate and only MD5, so MD5 is
// offered first here (the default order is SHA-256 first).
const conf = `[api]\nhttp_listen = 127.0.0.1:18380\n[websocket]\nlisten = 127.0.0.1:18381\n` +
  `[sip]\nudp_listen = 127.0.0.1:15360\ntcp_listen = 127.0.0.1:15360\nauth_algorithms = MD5,SHA-256\n` +
  `[user:carol]\npassword = c4rol-secret\n`;

// Runs one JsSIP UA in the page; resolves with what it saw on the wire.
async function register(page, password) {
  return page.evaluate(async ({ ws, password }) => {
    const wire = [];
    const Orig = window.WebSocket;
    // Record the first line of every SIP message in both directions.
    window.WebSocket = class extends Orig {
      constructor(...a) {
        super(...a);
        this.addEventListener('message', e => wire.push('< ' + String(e.data).split('\r\n')[0]));
      }
      send(d) { wire.push('> ' + String(d).split('\r\n')[0]); return super.send(d); }
    };
    const socket = new JsSIP.WebSocketInterface(ws);
    const ua = new JsSIP.UA({ sockets: [socket], uri: 'sip:carol@127.0.0.1', password,
                              register: false, session_timers: false, connection_recovery_min_interval: 30 });
    const result = { wire, events: [] };
    const wait = (names, ms) => new Promise(res => {
      const t = setTimeout(() => res('timeout'), ms);
      for (const n of names) ua.on(n, e => { clearTimeout(t); res(n + (e && e.response ? ' ' + e.response.status_code : '') + (e && e.cause ? ' ' + e.cause : '')); });
    });
    const conn = wait(['connected', 'disconnected'], 5000);
    ua.start();
    result.events.push(await conn);
    const reg = wait(['registered', 'registrationFailed'], 8000);
    ua.register();
    result.events.push(await reg);
    if (result.events[1].startsWith('registered')) {
      const unreg = wait(['unregistered'], 8000);
      ua.unregister();
      result.events.push(await unreg);
    }
    ua.stop();
    window.WebSocket = Orig;
    await new Promise(r => setTimeout(r, 200));
    return result;
  }, { ws: WS, password });
}

let jn, browser;
try {
  jn = await startJunction(conf, { httpPort: 18380 });
  browser = await launchBrowser();
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', e => errors.push(e.message));
  await page.setContent('<!doctype html><title>jssip</title>');
  await page.addScriptTag({ content: jssipBundle() });

  const r = await register(page, 'c4rol-secret');
  const lines = r.wire.join('\n');
  ok(r.events[1] && r.events[1].startsWith('registered'), 'JsSIP registers over WS with digest auth', { events: r.events, wire: r.wire });
  const seq = r.wire.filter(l => /^> REGISTER|^< SIP\/2.0 (401|200)/.test(l)).slice(0, 4).map(l => l.replace(/ sip:.*| SIP\/2.0$/, '').replace(/^(< SIP\/2.0 \d+).*/, '$1'));
  ok(JSON.stringify(seq) === JSON.stringify(['> REGISTER', '< SIP/2.0 401', '> REGISTER', '< SIP/2.0 200']),
     'the wire shows REGISTER -> 401 -> REGISTER -> 200', lines);
  ok(r.events[2] === 'unregistered 200', 'un-register (Expires 0) is answered and JsSIP reports unregistered', r.events);
  ok(/< SIP\/2.0 200/.test(r.wire.slice(4).join('\n')), 'the un-REGISTER got 200', lines);

  const bad = await register(page, 'wrong');
  ok(bad.events[1] && bad.events[1].startsWith('registrationFailed'), 'a wrong password does not register', bad);
  ok(/< SIP\/2.0 403/.test(bad.wire.join('\n')), '... the credentials are refused with 403', bad.wire);
  ok(errors.length === 0, 'no script errors on the page', errors.join('\n'));
} catch (e) {
  ok(false, `unexpected error: ${e.stack || e.message}`, junctionLog());
} finally {
  if (browser) await browser.close();
  const code = await stopJunction(jn);
  if (code !== 0) diag(`junction exited with ${code}\n${junctionLog()}`);
  done();
}
