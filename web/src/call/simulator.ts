// The simulator provider: the two browsers exchange real WebRTC media peer to
// peer; the 100ms simulator admits them (POST /sim/v1/join, which sends the
// engine its peer.join webhook) and relays offers, answers and candidates on
// its signalling socket. A socket that drops is reconnected for a while; the
// simulator declares the peer gone ("websocket closed") if it does not come
// back, as 100ms does.

import type { JoinToken } from "../api";
import type { CallElements, CallListener, CallProvider } from "./types";

interface Signal {
  type: string;
  peer_id?: string;
  from?: string;
  to?: string;
  sdp?: RTCSessionDescriptionInit;
  candidate?: RTCIceCandidateInit;
  peers?: { peer_id: string; role: string }[];
  reason?: string;
  code?: string;
}

const reconnectFor = 20_000; // how long a dropped socket is retried
const statsEvery = 2_000;

export class SimulatorCall implements CallProvider {
  private base = "";
  private token = "";
  private peerId = "";
  private ws: WebSocket | null = null;
  private pcs = new Map<string, RTCPeerConnection>();
  private local: MediaStream | null = null;
  private els: CallElements | null = null;
  private l: CallListener | null = null;
  private leaving = false;
  private ended = false;
  private statsTimer = 0;
  private lastStats = new Map<string, { lost: number; received: number }>();

  async join(jt: JoinToken, name: string, local: MediaStream, els: CallElements, l: CallListener): Promise<void> {
    if (!jt.simulator_url) throw new Error("the join token names no simulator");
    this.base = jt.simulator_url.replace(/\/$/, "");
    this.token = jt.token;
    this.local = local;
    this.els = els;
    this.l = l;
    for (const t of local.getVideoTracks()) t.contentHint = "detail"; // captures need sharp frames
    els.local.srcObject = local;
    l.state("connecting");
    const resp = await fetch(this.base + "/sim/v1/join", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token: jt.token, name }),
    });
    const body = await resp.json().catch(() => ({}));
    if (!resp.ok) {
      throw new Error("joining the call failed: " + (body.message ?? resp.status));
    }
    this.peerId = body.peer_id;
    await this.connect();
    l.state("connected");
    this.statsTimer = window.setInterval(() => void this.measure(), statsEvery);
  }

  // connect opens the signalling socket and resolves on welcome.
  private connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.base.replace(/^http/, "ws") + "/sim/v1/signal");
      let welcomed = false;
      this.ws = ws;
      ws.onopen = () => ws.send(JSON.stringify({ type: "hello", peer_id: this.peerId, token: this.token }));
      ws.onmessage = (ev) => {
        const m = JSON.parse(String(ev.data)) as Signal;
        if (m.type === "welcome") {
          welcomed = true;
          resolve();
        }
        if (m.type === "error") {
          reject(new SignalRefused(m.code ?? "error", m.reason ?? ""));
          return;
        }
        void this.onSignal(m);
      };
      ws.onclose = () => {
        if (this.ws !== ws) return;
        this.ws = null;
        if (!welcomed) {
          reject(new Error("signalling closed"));
          return;
        }
        if (!this.leaving && !this.ended) void this.reconnect();
      };
    });
  }

  private async reconnect(): Promise<void> {
    this.l?.state("reconnecting");
    const until = Date.now() + reconnectFor;
    while (!this.leaving && !this.ended && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 1000));
      try {
        await this.connect();
        this.l?.state("connected");
        return;
      } catch (err) {
        if (err instanceof SignalRefused) {
          // The simulator declared us gone: the engine opens a new attempt.
          this.end("dropped", err.reason);
          return;
        }
      }
    }
    if (!this.leaving && !this.ended) this.end("dropped", "the connection could not be restored");
  }

  private async onSignal(m: Signal): Promise<void> {
    switch (m.type) {
      case "welcome":
        // We are the newcomer (or back after a drop): offer to everyone
        // already connected whose connection we do not have.
        for (const p of m.peers ?? []) {
          const pc = this.pcs.get(p.peer_id);
          if (!pc || pc.connectionState === "failed" || pc.connectionState === "closed") await this.offer(p.peer_id);
        }
        break;
      case "offer": {
        const pc = this.newPC(m.from!);
        await pc.setRemoteDescription(m.sdp!);
        const answer = await pc.createAnswer();
        await pc.setLocalDescription(answer);
        this.send({ type: "answer", to: m.from, sdp: pc.localDescription!.toJSON() });
        break;
      }
      case "answer":
        await this.pcs.get(m.from!)?.setRemoteDescription(m.sdp!);
        break;
      case "candidate":
        try {
          await this.pcs.get(m.from!)?.addIceCandidate(m.candidate!);
        } catch {
          // a candidate of a connection that was replaced
        }
        break;
      case "peer-left": {
        const pc = this.pcs.get(m.peer_id!);
        if (pc) {
          pc.close();
          this.pcs.delete(m.peer_id!);
        }
        if (this.els) this.els.remote.srcObject = null;
        this.l?.remote(false);
        break;
      }
      case "removed":
        if (!this.leaving) this.end("removed", m.reason ?? "");
        break;
    }
  }

  private async offer(peer: string): Promise<void> {
    const pc = this.newPC(peer);
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    this.send({ type: "offer", to: peer, sdp: pc.localDescription!.toJSON() });
  }

  private newPC(peer: string): RTCPeerConnection {
    this.pcs.get(peer)?.close();
    const pc = new RTCPeerConnection({ iceServers: [] });
    this.pcs.set(peer, pc);
    for (const track of this.local?.getTracks() ?? []) {
      const sender = pc.addTrack(track, this.local!);
      if (track.kind === "video") void keepResolution(sender);
    }
    pc.onicecandidate = (ev) => {
      if (ev.candidate) this.send({ type: "candidate", to: peer, candidate: ev.candidate.toJSON() });
    };
    pc.ontrack = (ev) => {
      const els = this.els!;
      const stream = ev.streams[0] ?? new MediaStream([ev.track]);
      if (els.remote.srcObject !== stream) {
        els.remote.srcObject = stream;
        els.remote.play().catch((err: unknown) => {
          if ((err as { name?: string }).name === "NotAllowedError") this.l?.autoplayBlocked();
        });
      }
      this.l?.remote(true);
    };
    pc.onconnectionstatechange = () => {
      if (this.pcs.get(peer) !== pc) return;
      if (pc.connectionState === "disconnected") this.l?.quality(1);
    };
    return pc;
  }

  private send(m: Signal): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(m));
  }

  private async measure(): Promise<void> {
    for (const [peer, pc] of this.pcs) {
      if (pc.connectionState !== "connected") continue;
      const stats = await pc.getStats();
      let rtt = -1, lost = 0, received = 0;
      stats.forEach((s) => {
        if (s.type === "candidate-pair" && s.nominated && typeof s.currentRoundTripTime === "number") rtt = s.currentRoundTripTime;
        if (s.type === "inbound-rtp") {
          lost += s.packetsLost ?? 0;
          received += s.packetsReceived ?? 0;
        }
      });
      const prev = this.lastStats.get(peer) ?? { lost: 0, received: 0 };
      this.lastStats.set(peer, { lost, received });
      const dl = lost - prev.lost, dr = received - prev.received;
      const loss = dl + dr > 0 ? dl / (dl + dr) : 0;
      this.l?.quality(qualityLevel(rtt, loss));
    }
  }

  async switchCamera(deviceId: string): Promise<void> {
    const fresh = await navigator.mediaDevices.getUserMedia({ video: { deviceId: { exact: deviceId } } });
    const track = fresh.getVideoTracks()[0];
    track.contentHint = "detail";
    for (const pc of this.pcs.values()) {
      for (const s of pc.getSenders()) if (s.track?.kind === "video") await s.replaceTrack(track);
    }
    for (const old of this.local!.getVideoTracks()) {
      this.local!.removeTrack(old);
      old.stop();
    }
    this.local!.addTrack(track);
    this.els!.local.srcObject = this.local;
  }

  async unblockAudio(): Promise<void> {
    await this.els?.remote.play();
  }

  async leave(): Promise<void> {
    if (this.leaving || this.ended) return;
    this.leaving = true;
    this.send({ type: "bye" });
    try {
      await fetch(this.base + "/sim/v1/leave", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ peer_id: this.peerId, reason: "client request" }),
      });
    } finally {
      this.end("left", "");
    }
  }

  private end(reason: "left" | "removed" | "dropped", detail: string): void {
    if (this.ended) return;
    this.ended = true;
    window.clearInterval(this.statsTimer);
    const ws = this.ws;
    this.ws = null;
    ws?.close();
    for (const pc of this.pcs.values()) pc.close();
    this.pcs.clear();
    if (this.els) this.els.remote.srcObject = null;
    this.l?.state("ended", reason, detail);
  }
}

class SignalRefused extends Error {
  constructor(readonly code: string, readonly reason: string) {
    super(code + ": " + reason);
  }
}

// keepResolution asks the encoder to lower the frame rate rather than the
// resolution under load: the agent's captures are frames of this video.
async function keepResolution(sender: RTCRtpSender): Promise<void> {
  try {
    const p = sender.getParameters() as RTCRtpSendParameters & { degradationPreference?: string };
    p.degradationPreference = "maintain-resolution";
    await sender.setParameters(p);
  } catch {
    // not every browser lets this be set; the content hint still applies
  }
}

// qualityLevel maps round-trip time (seconds) and packet loss (0..1) to the
// 1..5 scale 100ms uses for its connection quality.
export function qualityLevel(rtt: number, loss: number): number {
  if (rtt < 0) return 0;
  if (loss > 0.1 || rtt > 1) return 1;
  if (loss > 0.05 || rtt > 0.5) return 2;
  if (loss > 0.02 || rtt > 0.3) return 3;
  if (loss > 0.01 || rtt > 0.15) return 4;
  return 5;
}
