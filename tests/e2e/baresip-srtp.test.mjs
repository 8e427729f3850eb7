// SDES-SRTP (RFC 4568) on both sides of a trunk-to-trunk call: baresip "A"
// (the trunk pstn, mediaenc=srtp-mand: RTP/SAVP with a=crypto, 880 Hz) dials
// 7001 on junction, routed to trunk "itsp" = baresip "B" (mediaenc=srtp-mand,
// auto-answer, 440 Hz) with `srtp = required`. Checks: the call is
// established, each baresip's sndfile recording holds the other's tone (so
// both SRTP legs decrypt), the CDR says relay (PCMU both sides) and both legs
// are "srtp". Then a trunk with srtp = required facing a plain-RTP baresip:
// it refuses the RTP/SAVP offer (488 back to the caller), CDR rejected.
import path from 'node:path';
import { plan, ok, done, WORK, startJunction, stopJunction, junctionLog, toneWav, waitFor, baresipControl, sleep,
         startBaresip, decodedWav, analyseWav, cdrLines } from './lib.mjs';

plan(7);
const HTTP = 18780, SIPPORT = 15760, APORT = 15770, BPORT = 15780, CPORT = 15790;
const CDR = path.join(WORK, 'cdr.jsonl');
const conf = `[general]\ncdr_file = ${CDR}\n[api]\nhttp_listen = 127.0.0.1:${HTTP}\n` +
  `[websocket]\nlisten =\n[sip]\nudp_listen = 127.0.0.1:${SIPPORT}\ntcp_listen =\n` +
  `[media]\nrtp_address = 127.0.0.1\nrtp_port_min = 27000\nrtp_port_max = 27099\n` +
  `[trunk:pstn]\nhost = 127.0.0.1\nport = ${APORT}\n` +
  `[trunk:itsp]\nhost = 127.0.0.1\nport = ${BPORT}\ncodecs = pcmu\nsrtp = required\n` +
  `[trunk:plain]\nhost = 127.0.0.1\nport = ${CPORT}\ncodecs = pcmu\nsrtp = required\n` +
  `[route:out]\nmatch = ^7(\\d+)$\nfrom = trunk:pstn\nprepend = b\nstrip = 4\ntarget = trunk:itsp\n` +
  `[route:plain]\nmatch = ^8(\\d+)$\nfrom = trunk:pstn\nprepend = c\nstrip = 4\ntarget = trunk:plain\n`;

// A baresip with SDES-SRTP (its srtp module) whose ctrl_tcp listens on its SIP port + 5.
const baresip = (name, port, rtp, wav, accounts) => startBaresip({ name, port, ctrl: port + 5, rtp, wav, accounts, modules: ['srtp'] });

let jn, A, B, C;
try {
  A = baresip('a', APORT, '27100-27199', toneWav('tone880.wav', 880, 60, 8000),
    `<sip:a@127.0.0.1:${APORT}>;regint=0;answermode=manual;audio_codecs=PCMU;mediaenc=srtp-mand`);
  B = baresip('b', BPORT, '27200-27299', toneWav('tone440.wav', 440, 60, 8000),
    `<sip:b@127.0.0.1:${BPORT}>;regint=0;answermode=auto;audio_codecs=PCMU;mediaenc=srtp-mand`);
  C = baresip('c', CPORT, '27300-27399', toneWav('tone660.wav', 660, 60, 8000),
    `<sip:c@127.0.0.1:${CPORT}>;regint=0;answermode=auto;audio_codecs=PCMU`);
  await sleep(500);
  const ctl = await baresipControl(APORT + 5);
  jn = await startJunction(conf, { httpPort: HTTP });

  await ctl.command('dial', `sip:7001@127.0.0.1:${SIPPORT}`);
  const est = await waitFor(() => ctl.events.find(e => e.type === 'CALL_ESTABLISHED'), 10000);
  ok(!!est, 'A (SRTP) -> junction -> B (SRTP): established', A.log() + B.log() + junctionLog());
  await sleep(4000);
  await ctl.command('hangup');
  await waitFor(() => ctl.events.find(e => e.type === 'CALL_CLOSED'), 5000);
  await sleep(1000);
  const wa = analyseWav(decodedWav(A.snd), 1), wb = analyseWav(decodedWav(B.snd), 1);
  ok(wa && Math.abs(wa.freq - 440) < 30 && wa.rms > 0.05, `A heard B's 440 Hz through two SRTP legs (${wa && wa.freq} Hz, rms ${wa && wa.rms.toFixed(3)})`);
  ok(wb && Math.abs(wb.freq - 880) < 30 && wb.rms > 0.05, `B heard A's 880 Hz (${wb && wb.freq} Hz, rms ${wb && wb.rms.toFixed(3)})`);
  ok(!/srtp.*(error|fail)/i.test(junctionLog()), 'no SRTP errors in junction\'s log');

  // ---- srtp = required toward a trunk that answers plain RTP ----
  ctl.events.length = 0;
  await ctl.command('dial', `sip:8001@127.0.0.1:${SIPPORT}`);
  const closed = await waitFor(() => ctl.events.find(e => e.type === 'CALL_CLOSED'), 10000);
  ok(!!closed && /488/.test(closed.param), `a trunk without SRTP refuses our RTP/SAVP offer (srtp = required); the caller gets (${closed && closed.param})`, junctionLog());

  await waitFor(() => cdrLines(CDR).length >= 2, 5000);
  const recs = cdrLines(CDR);
  const r0 = recs.find(r => r.target === 'trunk:itsp');
  ok(r0 && r0.media === 'relay' && r0.legs.length === 2 && r0.legs.every(l => l.kind === 'srtp' && l.packets_received > 50),
     'CDR: relay, both legs srtp with packets', JSON.stringify(r0));
  const r1 = recs.find(r => r.target === 'trunk:plain');
  ok(r1 && r1.cause !== 'normal', `CDR of the plain trunk: ${r1 && r1.cause} (${r1 && r1.reason})`, JSON.stringify(recs));
} catch (e) {
  ok(false, `test crashed: ${e.stack}`, junctionLog());
} finally {
  for (const p of [A, B, C]) if (p) await p.stop('SIGKILL');
  if (jn) await stopJunction(jn);
  done();
}
