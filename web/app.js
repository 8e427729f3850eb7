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
let ua = null, session = null;
const audioOnly = { audio: true, video: false };

function setPhone(state) {
  $('phone-status').textContent = state;
  const registered = ua && ua.isRegistered();
  $('unregister').disabled = !registered;
  $('call').disabled = !registered || !!session;
  $('hangup').disabled = !session;
  $('keypad').hidden = !session;
}

$('login').addEventListener('submit', ev => {
  ev.preventDefault();
  if (typeof JsSIP === 'undefined') { setPhone('JsSIP is not built (cd web && npm ci && npm run build).'); return; }
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
  ua.on('disconnected', () => { log('WebSocket disconnected'); setPhone('Disconnected.'); });
  ua.on('registered', () => { log('registered'); setPhone('Registered.'); });
  ua.on('unregistered', () => { log('unregistered'); setPhone('Not registered.'); });
  ua.on('registrationFailed', e => { log(`registration failed: ${e.cause}`); setPhone(`Registration failed: ${e.cause}`); });
  ua.on('newRTCSession', e => {
    if (session) { e.session.terminate({ status_code: 486 }); return; }
    attach(e.session);
    if (e.originator === 'remote') {
      log(`incoming call from ${e.request.from.uri}`);
      if (confirm(`Answer call from ${e.request.from.uri}?`)) e.session.answer({ mediaConstraints: audioOnly });
      else e.session.terminate();
    }
  });
  ua.on('newMessage', e => { if (e.originator === 'remote') log(`message from ${e.request.from.uri}: ${e.request.body}`); });
  ua.start();
  setPhone('Registering…');
});

$('unregister').addEventListener('click', () => ua && ua.unregister());

function attach(s) {
  session = s;
  s.on('progress', () => setPhone('Ringing…'));
  s.on('confirmed', () => setPhone('In call.'));
  s.on('ended', e => { log(`call ended: ${e.cause}`); session = null; setPhone('Call ended.'); });
  s.on('failed', e => { log(`call failed: ${e.cause}`); session = null; setPhone(`Call failed: ${e.cause}`); });
  s.on('newDTMF', e => { if (e.originator === 'remote') log(`DTMF received: ${e.dtmf.tone}`); });
  s.on('peerconnection', e => e.peerconnection.addEventListener('track', t => { remoteAudio.srcObject = t.streams[0]; }));
  if (s.connection) s.connection.addEventListener('track', t => { remoteAudio.srcObject = t.streams[0]; });
  setPhone('Calling…');
}

$('dial').addEventListener('submit', ev => {
  ev.preventDefault();
  if (!ua) return;
  ua.call($('target').value.trim(), { mediaConstraints: audioOnly });
});
$('hangup').addEventListener('click', () => session && session.terminate());
for (const k of '123456789*0#') {
  const b = document.createElement('button');
  b.type = 'button'; b.textContent = k;
  b.addEventListener('click', () => session && session.sendDTMF(k));
  $('keypad').appendChild(b);
}

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
