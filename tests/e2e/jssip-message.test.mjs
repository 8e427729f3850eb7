// Instant messages (RFC 3428) between two JsSIP UAs in one Chromium page,
// both registered over WebSocket: alice -> bob is delivered at once (bob's
// newMessage fires with the body); after bob un-registers, a message from
// alice is stored (202) and bob gets it when he registers again. A MESSAGE
// without credentials gets 407; one to a number no route knows gets 404.
import dgram from 'node:dgram';
import { plan, ok, done, diag, startJunction, stopJunction, launchBrowser, jssipBundle, junctionLog } from './lib.mjs';

plan(10);
const WS = 'ws://127.0.0.1:18391';
const UDP_PORT = 15380;
const conf = `[api]\nhttp_listen = 127.0.0.1:18390\n[websocket]\nlisten = 127.0.0.1:18391\n` +
  `[sip]\nudp_listen = 127.0.0.1:${UDP_PORT}\ntcp_listen = 127.0.0.1:${UDP_PORT}\nauth_algorithms = MD5,SHA-256\n` +
  `[user:alice]\npassword = al1ce-secret\n[user:bob]\npassword = b0b-secret\n` +
  `[user:carol]\npassword = c4rol-secret\n` +
  `[route:users]\nmatch = ^(alice|bob)$\ntarget = user:$1\n` +
  `[route:carol]\nmatch = ^carol$\nfrom = user:bob\ntarget = user:carol\n`;

// Sends one UDP request to junction and resolves with the first final status.
function udpRequest(text) {
  return new Promise(resolve => {
    const s = dgram.createSocket('udp4');
    const t = setTimeout(() => { s.close(); resolve('timeout'); }, 4000);
    s.on('message', m => {
      const line = m.toString().split('\r\n')[0];
      const code = Number(line.split(' ')[1]);
      if (code >= 200) { clearTimeout(t); s.close(); resolve(line); }
    });
    s.bind(0, '127.0.0.1', () => {
      const port = s.address().port;
      s.send(text.replaceAll('PORT', String(port)), UDP_PORT, '127.0.0.1');
    });
  });
}

let jn, browser;
try {
  jn = await startJunction(conf, { httpPort: 18390 });

  // An unauthenticated MESSAGE is challenged like an INVITE.
  const body = 'hello?';
  const raw = `MESSAGE sip:bob@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:PORT;branch=z9hG4bK-m1;rport\r\n` +
    `Max-Forwards: 70\r\nFrom: <sip:alice@127.0.0.1>;tag=a1\r\nTo: <sip:bob@127.0.0.1>\r\n` +
    `Call-ID: msg-noauth-1\r\nCSeq: 1 MESSAGE\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
  const line = await udpRequest(raw);
  ok(/^SIP\/2.0 407/.test(line), 'a MESSAGE without credentials gets 407', line);

  browser = await launchBrowser();
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', e => errors.push(e.message));
  await page.setContent('<!doctype html><title>jssip-message</title>');
  await page.addScriptTag({ content: jssipBundle() });

  const r = await page.evaluate(async ({ ws }) => {
    const out = { steps: [] };
    const mk = (user, password) => {
      const ua = new JsSIP.UA({ sockets: [new JsSIP.WebSocketInterface(ws)], uri: `sip:${user}@127.0.0.1`,
                                password, register: false, session_timers: false });
      ua.inbox = [];
      ua.on('newMessage', e => { if (e.originator === 'remote') ua.inbox.push(e.request.from.uri.user + ': ' + e.request.body); });
      return ua;
    };
    const once = (ua, names, ms) => new Promise(res => {
      const t = setTimeout(() => res('timeout'), ms);
      for (const n of names) ua.once(n, () => { clearTimeout(t); res(n); });
    });
    const send = (ua, to, text) => new Promise(res => {
      const t = setTimeout(() => res('timeout'), 8000);
      ua.sendMessage(`sip:${to}@127.0.0.1`, text, { eventHandlers: {
        succeeded: e => { clearTimeout(t); res('succeeded ' + e.response.status_code); },
        failed: e => { clearTimeout(t); res('failed ' + (e.response ? e.response.status_code : e.cause)); },
      } });
    });
    const waitInbox = async (ua, n, ms) => {
      for (let i = 0; i < ms / 50 && ua.inbox.length < n; i++) await new Promise(r => setTimeout(r, 50));
      return ua.inbox.slice();
    };
    const alice = mk('alice', 'al1ce-secret');
    const bob = mk('bob', 'b0b-secret');
    for (const ua of [alice, bob]) {
      const c = once(ua, ['connected', 'disconnected'], 5000);
      ua.start();
      out.steps.push(await c);
      const reg = once(ua, ['registered', 'registrationFailed'], 8000);
      ua.register();
      out.steps.push(await reg);
    }
    out.online = await send(alice, 'bob', 'hi bob, online');
    out.inbox1 = await waitInbox(bob, 1, 5000);
    const un = once(bob, ['unregistered'], 8000);
    bob.unregister();
    out.unreg = await un;
    out.offline = await send(alice, 'bob', 'while you were away');
    await new Promise(r => setTimeout(r, 500));
    out.inbox2 = bob.inbox.slice();
    out.nowhere = await send(alice, 'nobody', 'x');
    out.forbidden = await send(alice, 'carol', 'x');
    out.big = await send(alice, 'bob', 'x'.repeat(9000));
    const reg = once(bob, ['registered', 'registrationFailed'], 8000);
    bob.register();
    out.rereg = await reg;
    out.inbox3 = await waitInbox(bob, 2, 5000);
    alice.stop();
    bob.stop();
    await new Promise(r => setTimeout(r, 300));
    return out;
  }, { ws: WS });

  ok(r.steps.join(',') === 'connected,registered,connected,registered', 'alice and bob register over WS', r.steps);
  ok(r.online === 'succeeded 202' && JSON.stringify(r.inbox1) === JSON.stringify(['alice: hi bob, online']),
     'alice -> bob while bob is registered: 202, bob\'s newMessage has the body from alice', r);
  ok(r.unreg === 'unregistered' && r.offline === 'succeeded 202' && r.inbox2.length === 1,
     'after bob un-registers, a message is accepted (202) and not delivered', r);
  ok(r.nowhere === 'failed 404', 'a MESSAGE to a target no route knows gets 404', r.nowhere);
  ok(r.forbidden === 'failed 403', 'a MESSAGE on a route not open to the sender gets 403', r.forbidden);
  ok(r.big === 'failed 413', 'a 9000-byte body (over the 8192-byte cap) gets 413 and is not stored', r.big);
  ok(r.rereg === 'registered' && JSON.stringify(r.inbox3) === JSON.stringify(['alice: hi bob, online', 'alice: while you were away']),
     'bob registers again and receives the stored message', r);
  ok(/stored MESSAGE|stored \(1 waiting\)/.test(junctionLog()) && /1 stored messages delivered/.test(junctionLog()),
     'junction logged the store and the delivery on REGISTER');
  ok(errors.length === 0, 'no script errors on the page', errors.join('\n'));
} catch (e) {
  ok(false, `unexpected error: ${e.stack || e.message}`, junctionLog());
} finally {
  if (browser) await browser.close();
  const code = await stopJunction(jn);
  if (code !== 0) diag(`junction exited with ${code}\n${junctionLog()}`);
  done();
}
