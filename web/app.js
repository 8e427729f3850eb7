// Junction's softphone page: JsSIP for SIP over WebSocket, and the JSON
// channel (subprotocol "junction") for the echo test. No SIP is written by
// hand here: JsSIP does it.
'use strict';
const $ = id => document.getElementById(id);
const wsDefault = `ws://${location.hostname || '127.0.0.1'}:8081/`;
$('ws').value = localStorage.getItem('jn.ws') || wsDefault;
const remoteAudio = $('remote');

function log(msg) {
  const line = `${new Date().toISOString().slice(11, 23)} ${msg}\n`;
  $('log').textContent += line;
  $('log').scrollTop = $('log').scrollHeight;
}

async function checkHealth() {
  try {
    const r = await fetch('/api/v1/health');
    const j = await r.json();
    $('health').textContent = `${j.status} · v${j.version} · up ${j.uptime_s}s`;
    $('health').className = 'pill ' + (j.status === 'ok' ? 'ok' : 'bad');
  } catch (e) {
    $('health').textContent = 'unreachable';
    $('health').className = 'pill bad';
  }
}
checkHealth();
setInterval(checkHealth, 10000);

// ---- Softphone (JsSIP) ----
// One call at a time: `session` is the current JsSIP RTCSession, outgoing or
// incoming. render() derives every button from it, so each event handler
// only has to say what the status line reads.
let ua = null, session = null;
const audioOnly = { audio: true, video: false };

// "Display Name (user)" or "user@host" for a session's other party.
function who(s) {
  const id = s.remote_identity;
  if (!id) return 'unknown';
  const addr = id.uri ? (id.uri.user ? `${id.uri.user}@${id.uri.host}` : id.uri.host) : '';
  return id.display_name ? `${id.display_name} (${addr})` : addr;
}

function ringingIn(s) {
  return !!s && s.direction === 'incoming' && !s.isEstablished() && !s.isEnded();
}

function render(status) {
  if (status !== undefined) $('phone-status').textContent = status;
  const registered = !!ua && ua.isRegistered();
  const established = !!session && session.isEstablished();
  const incoming = ringingIn(session);
  const held = established && session.isOnHold().local;
  $('unregister').disabled = !registered;
  $('call').disabled = !registered || !!session;
  $('hangup').disabled = !session || incoming;
  $('hold').disabled = !established;
  $('hold').textContent = held ? 'Resume' : 'Hold';
  $('incoming').hidden = !incoming;
  if (incoming) $('incoming-from').textContent = who(session);
  $('in-call').hidden = !established;
  ring(incoming);
}

// A ring for incoming calls (two tones, 2 s on, 4 s off), made with WebAudio
// so the page needs no sound file.
let ringer = null;
function ring(on) {
  if (!on) {
    if (ringer) { clearInterval(ringer.timer); ringer.ctx.close().catch(() => {}); ringer = null; }
    return;
  }
  if (ringer || typeof AudioContext === 'undefined') return;
  const ctx = new AudioContext();
  const burst = () => {
    const gain = ctx.createGain();
    gain.gain.value = 0.1;
    gain.connect(ctx.destination);
    for (const f of [440, 480]) {
      const o = ctx.createOscillator();
      o.frequency.value = f;
      o.connect(gain);
      o.start();
      o.stop(ctx.currentTime + 2);
    }
  };
  burst();
  ringer = { ctx, timer: setInterval(burst, 6000) };
}

// The call's duration next to the controls, from the moment it is answered.
let clock = null;
function callClock(s) {
  clearInterval(clock);
  $('call-time').textContent = '';
  if (!s) return;
  const t0 = Date.now();
  const tick = () => {
    const sec = Math.floor((Date.now() - t0) / 1000);
    $('call-time').textContent = `${Math.floor(sec / 60)}:${String(sec % 60).padStart(2, '0')}`;
  };
  tick();
  clock = setInterval(tick, 1000);
}

// Plays the session's remote audio; called on every event that may bring it.
function playRemote(s) {
  const pc = s.connection;
  if (!pc || s !== session) return;
  const tracks = pc.getReceivers().map(r => r.track).filter(t => t && t.kind === 'audio');
  if (tracks.length && (!remoteAudio.srcObject || remoteAudio.srcObject.getAudioTracks()[0] !== tracks[0]))
    remoteAudio.srcObject = new MediaStream(tracks);
}

$('login').addEventListener('submit', ev => {
  ev.preventDefault();
  if (typeof JsSIP === 'undefined') { render('JsSIP is not built (cd web && npm ci && npm run build).'); return; }
  if (ua) ua.stop();
  const url = $('ws').value.trim();
  localStorage.setItem('jn.ws', url);
  const host = new URL(url.replace(/^ws/, 'http')).hostname;
  ua = new JsSIP.UA({
    sockets: [new JsSIP.WebSocketInterface(url)],
    uri: `sip:${$('user').value}@${host}`,
    password: $('password').value,
    register: true,
  });
  ua.on('connected', () => log('WebSocket connected'));
  ua.on('disconnected', () => { log('WebSocket disconnected'); render('Disconnected.'); });
  ua.on('registered', () => { log('registered'); render('Registered.'); });
  ua.on('unregistered', () => { log('unregistered'); render('Not registered.'); });
  ua.on('registrationFailed', e => { log(`registration failed: ${e.cause}`); render(`Registration failed: ${e.cause}`); });
  ua.on('newRTCSession', e => {
    if (e.originator === 'remote') {
      // Busy with another call: this contact says so; a forking server
      // still rings the user's other devices.
      if (session) { e.session.terminate({ status_code: 486 }); return; }
      attach(e.session);
      log(`incoming call from ${who(e.session)}`);
      render(`Incoming call from ${who(e.session)}…`);
    } else {
      attach(e.session);
      render('Calling…');
    }
  });
  ua.on('newMessage', e => { if (e.originator === 'remote') log(`message from ${e.request.from.uri}: ${e.request.body}`); });
  ua.start();
  render('Registering…');
});

$('unregister').addEventListener('click', () => ua && ua.unregister());

function attach(s) {
  session = s;
  const done = text => {
    if (session === s) { session = null; remoteAudio.srcObject = null; callClock(null); }
    $('dtmf-sent').textContent = '';
    render(text);
  };
  s.on('progress', () => { if (s.direction === 'outgoing') render('Ringing…'); });
  s.on('accepted', () => playRemote(s));
  s.on('confirmed', () => { playRemote(s); callClock(s); render('In call.'); });
  s.on('ended', e => { log(`call ended: ${e.originator} ${e.cause}`); done('Call ended.'); });
  s.on('failed', e => {
    log(`call failed: ${e.originator} ${e.cause}`);
    // An incoming call the caller gave up on (or another device took).
    if (s.direction === 'incoming' && e.originator === 'remote') done(`Missed call from ${who(s)}.`);
    else if (s.direction === 'incoming') done('Call declined.');
    else done(`Call failed: ${e.cause}`);
  });
  s.on('hold', e => render(e.originator === 'local' ? 'On hold.' : 'Held by the other side.'));
  s.on('unhold', () => render('In call.'));
  s.on('newDTMF', e => { if (e.originator === 'remote') log(`DTMF received: ${e.dtmf.tone}`); });
  s.on('peerconnection', e => e.peerconnection.addEventListener('track', () => playRemote(s)));
  if (s.connection) s.connection.addEventListener('track', () => playRemote(s));
}

$('dial').addEventListener('submit', ev => {
  ev.preventDefault();
  if (!ua || session) return;
  ua.call($('target').value.trim(), { mediaConstraints: audioOnly });
});
$('hangup').addEventListener('click', () => session && session.terminate());
$('answer').addEventListener('click', () => {
  if (!ringingIn(session)) return;
  session.answer({ mediaConstraints: audioOnly });
  render('Answering…');
});
$('decline').addEventListener('click', () => {
  if (!ringingIn(session)) return;
  session.terminate({ status_code: 603, reason_phrase: 'Decline' });
});
$('hold').addEventListener('click', () => {
  if (!session || !session.isEstablished()) return;
  if (session.isOnHold().local) session.unhold(); else session.hold();
});

function sendDigit(k) {
  if (!session || !session.isEstablished()) return;
  session.sendDTMF(k);
  $('dtmf-sent').textContent += k;
}
for (const k of '123456789*0#') {
  const b = document.createElement('button');
  b.type = 'button'; b.textContent = k; b.dataset.tone = k;
  b.addEventListener('click', () => sendDigit(k));
  $('keypad').appendChild(b);
}
// Digits typed anywhere but in a text field go to the call too.
document.addEventListener('keydown', ev => {
  if (/^[0-9*#]$/.test(ev.key) && !(ev.target instanceof HTMLInputElement)) sendDigit(ev.key);
});

// ---- Echo test (JSON channel) ----
let echo = null;

async function startEcho() {
  const url = $('ws').value.trim();
  const sock = new WebSocket(url, 'junction');
  const pc = new RTCPeerConnection();
  echo = { sock, pc };
  $('echo-start').disabled = true; $('echo-stop').disabled = false;
  const status = s => { $('echo-status').textContent = s; log(`echo: ${s}`); };
  pc.ontrack = e => { remoteAudio.srcObject = e.streams[0] || new MediaStream([e.track]); };
  pc.onicecandidate = e => {
    if (sock.readyState === WebSocket.OPEN)
      sock.send(JSON.stringify({ type: 'candidate', candidate: e.candidate ? e.candidate.candidate : null,
                                 sdpMid: e.candidate ? e.candidate.sdpMid : null }));
  };
  pc.onconnectionstatechange = () => status(`connection ${pc.connectionState}`);
  sock.onmessage = async m => {
    const msg = JSON.parse(m.data);
    if (msg.type === 'answer') await pc.setRemoteDescription({ type: 'answer', sdp: msg.sdp });
    else if (msg.type === 'candidate' && msg.candidate) await pc.addIceCandidate({ candidate: msg.candidate, sdpMid: msg.sdpMid || '0' });
    else if (msg.type === 'error') status(`error ${msg.code}: ${msg.message}`);
    else if (msg.type === 'hangup') stopEcho();
  };
  sock.onclose = () => { if (echo) status('channel closed'); };
  sock.onopen = async () => {
    try {
      const mic = await navigator.mediaDevices.getUserMedia({ audio: true });
      mic.getTracks().forEach(t => pc.addTrack(t, mic));
      await pc.setLocalDescription(await pc.createOffer());
      sock.send(JSON.stringify({ type: 'call', to: 'echo', sdp: pc.localDescription.sdp }));
      status('calling echo…');
    } catch (e) { status(`cannot start: ${e.message}`); stopEcho(); }
  };
}

function stopEcho() {
  if (!echo) return;
  const { sock, pc } = echo;
  echo = null;
  if (sock.readyState === WebSocket.OPEN) sock.send(JSON.stringify({ type: 'hangup' }));
  sock.close(); pc.close();
  $('echo-start').disabled = false; $('echo-stop').disabled = true;
  $('echo-status').textContent = 'Idle.';
}
$('echo-start').addEventListener('click', startEcho);
$('echo-stop').addEventListener('click', stopEcho);
