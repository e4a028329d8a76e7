// One call interface for the pages; two providers behind it, chosen by what
// the join-token answer says the engine talks to.

import type { JoinToken } from "../api";

export type CallState = "connecting" | "connected" | "reconnecting" | "ended";

// Why a call ended: the person left, the room removed them (the engine ended
// the session), the connection dropped for good, or an error.
export type EndReason = "left" | "removed" | "dropped" | "error";

export interface CallListener {
  state(s: CallState, reason?: EndReason, detail?: string): void;
  remote(present: boolean): void;
  quality(level: number): void; // 1 (very poor) .. 5 (excellent), 0 unknown
  autoplayBlocked(): void;
}

export interface CallElements {
  local: HTMLVideoElement;
  remote: HTMLVideoElement;
}

export interface CallProvider {
  // join enters the room with the join token. local is the preview's
  // stream (the simulator sends it; 100ms opens its own tracks with the
  // same devices).
  join(jt: JoinToken, name: string, local: MediaStream, els: CallElements, l: CallListener): Promise<void>;
  switchCamera(deviceId: string): Promise<void>;
  unblockAudio(): Promise<void>;
  leave(): Promise<void>;
}

export async function createProvider(jt: JoinToken): Promise<CallProvider> {
  if (jt.provider === "simulator") {
    const { SimulatorCall } = await import("./simulator");
    return new SimulatorCall();
  }
  const { HMSCall } = await import("./hms");
  return new HMSCall();
}
