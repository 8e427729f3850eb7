#!/usr/bin/python3
"""A second WebRTC stack calls junction's echo: aiortc (Debian's
python3-aiortc) speaks the JSON channel over python3-websockets, sends a
440 Hz tone for a few seconds and reports, as one JSON line, what came back.
Usage: aiortc-echo.py WS_URL SECONDS"""
import asyncio
import fractions
import json
import sys

import aioice.ice
import numpy as np
import websockets
from av import AudioFrame
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

# aioice leaves out 127.0.0.1, and tests run where loopback is all there is.
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"] if use_ipv4 else []

RATE, SAMPLES = 48000, 960


class Tone(MediaStreamTrack):
    kind = "audio"

    def __init__(self, freq):
        super().__init__()
        self.freq, self.pts, self.start = freq, 0, None

    async def recv(self):
        loop = asyncio.get_event_loop()
        if self.start is None:
            self.start = loop.time()
        wait = self.start + self.pts / RATE - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        t = (np.arange(SAMPLES) + self.pts) / RATE
        pcm = (0.5 * 32767 * np.sin(2 * np.pi * self.freq * t)).astype(np.int16)
        frame = AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = RATE, self.pts, fractions.Fraction(1, RATE)
        self.pts += SAMPLES
        return frame


async def main(url, seconds):
    out = {"answer": False, "connected": False, "frames": 0}
    pc = RTCPeerConnection()
    pc.addTrack(Tone(440))
    received = []
    done = asyncio.Event()

    @pc.on("track")
    def on_track(track):
        async def pull():
            while not done.is_set():
                try:
                    f = await track.recv()
                except Exception:
                    return
                a = f.to_ndarray().astype(np.float32).reshape(-1) / 32768.0
                if f.layout.name == "stereo":
                    a = a[0::2]
                received.append((f.sample_rate, a))
        asyncio.ensure_future(pull())

    async with websockets.connect(url, subprotocols=["junction"]) as ws:
        await pc.setLocalDescription(await pc.createOffer())  # gathers: candidates inline
        await ws.send(json.dumps({"type": "call", "to": "echo", "sdp": pc.localDescription.sdp}))
        while True:
            msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if msg["type"] == "answer":
                break
            if msg["type"] == "error":
                out["error"] = msg
                print(json.dumps(out))
                return
        out["answer"] = True
        await pc.setRemoteDescription(RTCSessionDescription(sdp=msg["sdp"], type="answer"))
        for _ in range(100):
            if pc.connectionState == "connected":
                break
            await asyncio.sleep(0.1)
        out["connected"] = pc.connectionState == "connected"
        await asyncio.sleep(seconds)
        done.set()
        stats = await pc.getStats()
        for s in stats.values():
            if s.type == "outbound-rtp":
                out["sent"] = s.packetsSent
            if s.type == "inbound-rtp":
                out["received"] = s.packetsReceived
        await ws.send(json.dumps({"type": "hangup"}))
    await pc.close()
    out["frames"] = len(received)
    if received:
        rate = received[-1][0]
        pcm = np.concatenate([a for r, a in received[len(received) // 2:]])
        spec = np.abs(np.fft.rfft(pcm * np.hanning(len(pcm))))
        out["peak_hz"] = float(np.argmax(spec) * rate / len(pcm))
        out["rms"] = float(np.sqrt(np.mean(pcm ** 2)))
    print(json.dumps(out))


asyncio.run(main(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 4))
